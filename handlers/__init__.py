"""Bolt listeners by kind; each module has `register(app, deps)`."""

from slack_bolt import App

from handlers import actions, commands, complaints, customers, errors, events, home, middleware, options, views
from handlers.deps import Deps


def register_all(app: App, deps: Deps) -> None:
    for module in (middleware, errors, commands, actions, options, views, events, complaints, home, customers):
        module.register(app, deps)
