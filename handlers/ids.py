"""Every id Slack sends back to us: the slash command, action_ids, callback_ids, block_ids."""

from enum import StrEnum


class Command(StrEnum):
    CARE = "/care"


class Event(StrEnum):
    APP_HOME_OPENED = "app_home_opened"


class Action(StrEnum):
    LOG_CALL = "log_call"  # button on a queue row; value = "cb:<callback id>" or "cu:<customer id>"
    SHOW_MORE = "due_show_more"  # value = offset of the next page
    OPEN_QUEUE = "home_open_queue"
    CUSTOMER_SELECT = "customer_select"  # external_select in the log-call modal


class ViewId(StrEnum):
    LOG_CALL = "log_call_modal"


class Field(StrEnum):
    """block_ids of the log-call modal; each input's element has action_id "value"."""

    CUSTOMER = "customer"
    CHANNEL = "channel"
    OUTCOME = "outcome"
    RATING = "rating"
    SUMMARY = "summary"
    FEEDBACK = "feedback"
    NEXT_ON = "next_on"


INPUT_ACTION = "value"
