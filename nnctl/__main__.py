from nnctl.cli import app

app()
