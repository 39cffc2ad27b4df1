from __future__ import annotations

import typer

user_app = typer.Typer(help="用户管理 Users")
token_app = typer.Typer(help="应用凭证 App credentials")
