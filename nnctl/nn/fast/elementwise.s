# elementwise(program): a program of elementwise operations on float arrays, chunk by chunk.
#
# The source of `nnctl.nn.fast.elementwise.ELEMENTWISE_CODE` (tests/nn/fast/test_elementwise.py
# assembles it with GNU as and compares the bytes):
#     as -o elementwise.o elementwise.s && objcopy -O binary -j .text elementwise.o elementwise.bin
#
# A program, in 64-bit words: the number of segments, then each segment:
#     n (its elements), shift (log2 of an element's bytes: 2 float32, 3 float64), ops (how many),
#     then each op: code, d, a, b, s
# with d, a and b the addresses of the segment's first element in each array, and s the scalar's
# bits (a float32's in the low 32 bits, or a float64's). The codes, for float32 (+ 16 for float64):
#     1  d = a * s        2  d = a + s        3  d = a + b        4  d = a - b
#     5  d = a * b        6  d = a / b        7  d = sqrt(a)
#     8  d = max(a, 0)    9  d = sign(a)
# where max and sign are NumPy's np.maximum(a, 0) and np.sign(a): a NaN is passed on as it is (its
# bits, signalling or not), and -0 gives +0.
# Each segment runs in chunks of CHUNK elements: every op over the chunk, in order, then the next
# chunk. So each element sees the ops in program order, as from NumPy's passes over the whole
# arrays one after another, while the arrays' chunks stay in the L1 cache. Each operation is one
# IEEE instruction (AVX, no fused multiply-add): the same bits as NumPy's loops, under the MXCSR
# of the calling thread.
#
# x86-64 System V: rdi = program; rbx, rbp, r12-r15 are saved; returns nothing.
.intel_syntax noprefix
.set CHUNK, 128
.text
.globl elementwise
elementwise:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov r12, [rdi]              # r12: segments left
    lea r13, [rdi+8]            # r13: this segment
.Lsegment:
    test r12, r12
    jz .Lreturn
    mov r14, [r13]              # r14: n
    mov rbp, [r13+16]
    imul rbp, rbp, 40
    lea rbp, [r13+rbp+24]       # rbp: the end of its ops, where the next segment starts
    xor r15d, r15d              # r15: the chunk's first element
.Lchunk:
    cmp r15, r14
    jae .Lnext_segment
    mov r9, r14
    sub r9, r15
    mov eax, CHUNK
    cmp r9, rax
    cmova r9, rax               # r9: the chunk's elements
    mov rcx, [r13+8]
    mov r10, r15
    shl r10, cl                 # r10: the chunk's offset in bytes
    lea rbx, [r13+24]           # rbx: the op
.Lop:
    cmp rbx, rbp
    jae .Lchunk_done
    mov rdx, [rbx+8]
    add rdx, r10                # rdx: d
    mov rsi, [rbx+16]
    add rsi, r10                # rsi: a
    mov rdi, [rbx+24]
    add rdi, r10                # rdi: b (not read by an op without one)
    mov r8, r9                  # r8: elements
    mov rax, [rbx]
    cmp rax, 1
    je .Lmuls_f
    cmp rax, 2
    je .Ladds_f
    cmp rax, 3
    je .Ladd_f
    cmp rax, 4
    je .Lsub_f
    cmp rax, 5
    je .Lmul_f
    cmp rax, 6
    je .Ldiv_f
    cmp rax, 7
    je .Lsqrt_f
    cmp rax, 8
    je .Lrelu_f
    cmp rax, 9
    je .Lsign_f
    cmp rax, 17
    je .Lmuls_d
    cmp rax, 18
    je .Ladds_d
    cmp rax, 19
    je .Ladd_d
    cmp rax, 20
    je .Lsub_d
    cmp rax, 21
    je .Lmul_d
    cmp rax, 22
    je .Ldiv_d
    cmp rax, 23
    je .Lsqrt_d
    cmp rax, 24
    je .Lrelu_d
    cmp rax, 25
    je .Lsign_d
.Lop_done:                      # (an unknown code does nothing)
    add rbx, 40
    jmp .Lop
.Lchunk_done:
    add r15, r9
    jmp .Lchunk
.Lnext_segment:
    mov r13, rbp
    dec r12
    jmp .Lsegment
.Lreturn:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    vzeroupper
    ret

# One op over r8 elements of d (rdx), a (rsi), b (rdi), s ([rbx+32]): two 32-byte registers at a
# time, then one element at a time. \t: ps or pd; \s: ss or sd; \bcast: the scalar's broadcast;
# \shift, \mask: log2 of the elements per two registers, and that number less one; \size: an
# element's bytes; \second: whether the op reads b; \scalar: whether it reads s.
.macro BODY label, op, t, s, bcast, shift, mask, size, second, scalar
\label:
    xor r11d, r11d              # r11: the offset in bytes
    .ifc \scalar,yes
    \bcast ymm1, [rbx+32]
    .endif
    mov rcx, r8
    shr rcx, \shift
    jz 2f
1:
    vmovups ymm0, [rsi+r11]
    vmovups ymm3, [rsi+r11+32]
    .ifc \second,yes
    vmovups ymm1, [rdi+r11]
    vmovups ymm4, [rdi+r11+32]
    .endif
    .ifc \op,sqrt
    vsqrt\t ymm0, ymm0
    vsqrt\t ymm3, ymm3
    .else
    .ifc \second,yes
    v\op\t ymm0, ymm0, ymm1
    v\op\t ymm3, ymm3, ymm4
    .else
    v\op\t ymm0, ymm0, ymm1
    v\op\t ymm3, ymm3, ymm1
    .endif
    .endif
    vmovups [rdx+r11], ymm0
    vmovups [rdx+r11+32], ymm3
    add r11, 64
    dec rcx
    jnz 1b
2:
    mov rcx, r8
    and rcx, \mask
    jz 4f
3:
    vmov\s xmm0, [rsi+r11]
    .ifc \second,yes
    vmov\s xmm1, [rdi+r11]
    .endif
    .ifc \op,sqrt
    vsqrt\s xmm0, xmm0, xmm0
    .else
    v\op\s xmm0, xmm0, xmm1
    .endif
    vmov\s [rdx+r11], xmm0
    add r11, \size
    dec rcx
    jnz 3b
4:
    jmp .Lop_done
.endm

BODY .Lmuls_f, mul, ps, ss, vbroadcastss, 4, 15, 4, no, yes
BODY .Ladds_f, add, ps, ss, vbroadcastss, 4, 15, 4, no, yes
BODY .Ladd_f, add, ps, ss, vbroadcastss, 4, 15, 4, yes, no
BODY .Lsub_f, sub, ps, ss, vbroadcastss, 4, 15, 4, yes, no
BODY .Lmul_f, mul, ps, ss, vbroadcastss, 4, 15, 4, yes, no
BODY .Ldiv_f, div, ps, ss, vbroadcastss, 4, 15, 4, yes, no
BODY .Lsqrt_f, sqrt, ps, ss, vbroadcastss, 4, 15, 4, no, no
BODY .Lmuls_d, mul, pd, sd, vbroadcastsd, 3, 7, 8, no, yes
BODY .Ladds_d, add, pd, sd, vbroadcastsd, 3, 7, 8, no, yes
BODY .Ladd_d, add, pd, sd, vbroadcastsd, 3, 7, 8, yes, no
BODY .Lsub_d, sub, pd, sd, vbroadcastsd, 3, 7, 8, yes, no
BODY .Lmul_d, mul, pd, sd, vbroadcastsd, 3, 7, 8, yes, no
BODY .Ldiv_d, div, pd, sd, vbroadcastsd, 3, 7, 8, yes, no
BODY .Lsqrt_d, sqrt, pd, sd, vbroadcastsd, 3, 7, 8, no, no

# d = max(a, 0) as NumPy's np.maximum(a, 0): vmax gives its second operand, 0, for a NaN or either
# zero, so a NaN is put back from a (ymm5: zeros).
.macro RELU label, t, s, shift, mask, size
\label:
    xor r11d, r11d
    vxorps ymm5, ymm5, ymm5
    mov rcx, r8
    shr rcx, \shift
    jz 2f
1:
    vmovups ymm0, [rsi+r11]
    vmovups ymm3, [rsi+r11+32]
    vmax\t ymm1, ymm0, ymm5
    vmax\t ymm4, ymm3, ymm5
    vcmp\t ymm2, ymm0, ymm0, 3  # unordered: a is NaN
    vcmp\t ymm6, ymm3, ymm3, 3
    vblendv\t ymm0, ymm1, ymm0, ymm2
    vblendv\t ymm3, ymm4, ymm3, ymm6
    vmovups [rdx+r11], ymm0
    vmovups [rdx+r11+32], ymm3
    add r11, 64
    dec rcx
    jnz 1b
2:
    mov rcx, r8
    and rcx, \mask
    jz 4f
3:
    vmov\s xmm0, [rsi+r11]
    vmax\s xmm1, xmm0, xmm5
    vcmp\s xmm2, xmm0, xmm0, 3
    vblendv\t xmm0, xmm1, xmm0, xmm2
    vmov\s [rdx+r11], xmm0
    add r11, \size
    dec rcx
    jnz 3b
4:
    jmp .Lop_done
.endm

# d = sign(a) as NumPy's np.sign(a): 1 where a > 0, -1 where a < 0, a where a is NaN, else +0;
# as masks of three comparisons (ymm5: zeros, ymm6: -1, ymm7: 1).
.macro SIGN label, t, s, shift, mask, size, cvt, half
\label:
    xor r11d, r11d
    vxorps ymm5, ymm5, ymm5
    vcmp\t ymm6, ymm5, ymm5, 0  # all bits set: the integers -1
    \cvt ymm6, \half\()6        # -1.0
    vsub\t ymm7, ymm5, ymm6     # 1.0
    mov rcx, r8
    shr rcx, \shift
    jz 2f
1:
    vmovups ymm0, [rsi+r11]
    vmovups ymm3, [rsi+r11+32]
    SIGN_OF \t, ymm, 0, 1, 2, 4
    SIGN_OF \t, ymm, 3, 8, 9, 10
    vmovups [rdx+r11], ymm0
    vmovups [rdx+r11+32], ymm3
    add r11, 64
    dec rcx
    jnz 1b
2:
    mov rcx, r8
    and rcx, \mask
    jz 4f
3:
    vmov\s xmm0, [rsi+r11]
    SIGN_OF \t, xmm, 0, 1, 2, 4
    vmov\s [rdx+r11], xmm0
    add r11, \size
    dec rcx
    jnz 3b
4:
    jmp .Lop_done
.endm

# The sign of register \x (it becomes the result), with \gt, \lt and \nan for the masks.
.macro SIGN_OF t, r, x, gt, lt, nan
    vcmp\t \r\gt, \r\x, \r\()5, 0x1e  # a > 0 (ordered)
    vcmp\t \r\lt, \r\x, \r\()5, 0x11  # a < 0 (ordered)
    vcmp\t \r\nan, \r\x, \r\x, 3      # a is NaN
    vand\t \r\gt, \r\gt, \r\()7
    vand\t \r\lt, \r\lt, \r\()6
    vand\t \r\nan, \r\nan, \r\x
    vor\t \r\x, \r\gt, \r\lt
    vor\t \r\x, \r\x, \r\nan
.endm

RELU .Lrelu_f, ps, ss, 4, 15, 4
RELU .Lrelu_d, pd, sd, 3, 7, 8
SIGN .Lsign_f, ps, ss, 4, 15, 4, vcvtdq2ps, ymm
SIGN .Lsign_d, pd, sd, 3, 7, 8, vcvtdq2pd, xmm
