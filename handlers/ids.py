"""Every id Slack sends back to us: the slash command, action_ids, callback_ids, block_ids."""

from enum import StrEnum


class Command(StrEnum):
    CARE = "/care"


class Event(StrEnum):
    APP_HOME_OPENED = "app_home_opened"


class Action(StrEnum):
    LOG_CALL = "log_call"  # button on a queue row; value = "cb:<callback id>" or "cu:<customer id>"
    SHOW_MORE = "due_show_more"  # value = offset of the next page
    CUSTOMER_SELECT = "customer_select"  # external_select in the log-call modal
    # /care complaints rows; value = complaint id
    COMPLAINT_FIRST_RESPONSE = "complaint_first_response"
    COMPLAINT_WAIT = "complaint_wait"
    COMPLAINT_RESUME = "complaint_resume"
    COMPLAINT_RESOLVE = "complaint_resolve"
    # the escalation post; value = complaint id (the users_select: block_id "esc:<complaint id>:<notice id>")
    ESCALATION_ACK = "escalation_ack"
    ESCALATION_REASSIGN = "escalation_reassign"
    ESCALATION_RESOLVE = "escalation_resolve"
    ESCALATION_SNOOZE = "escalation_snooze"
    # App Home quick actions (issue 13)
    HOME_LOG_CALL = "home_log_call"
    HOME_OPEN_COMPLAINT = "home_open_complaint"
    # the customer card (issue 9); value = customer id
    CUSTOMER_CARD = "customer_card"
    CUSTOMER_EDIT = "customer_edit"
    CUSTOMER_COMPLAINT = "customer_complaint"


class ViewId(StrEnum):
    LOG_CALL = "log_call_modal"
    COMPLAINT = "complaint_modal"
    COMPLAINT_RESOLVE = "complaint_resolve_modal"
    CUSTOMER = "customer_modal"


class Shortcut(StrEnum):
    """Message shortcuts (callback_id)."""

    OPEN_COMPLAINT = "open_complaint_from_message"


class ComplaintField(StrEnum):
    """block_ids of the complaint modals; each input's element has action_id "value"."""

    CUSTOMER = "customer"
    KIND = "kind"
    CATEGORY = "category"
    SEVERITY = "severity"
    DESCRIPTION = "description"
    RESOLUTION = "resolution"


class Field(StrEnum):
    """block_ids of the log-call modal; each input's element has action_id "value"."""

    CUSTOMER = "customer"
    CHANNEL = "channel"
    OUTCOME = "outcome"
    RATING = "rating"
    SUMMARY = "summary"
    FEEDBACK = "feedback"
    NEXT_ON = "next_on"
    NPS = "nps"  # issue 13


class CustomerField(StrEnum):
    """block_ids of the customer modal (issue 9); each input's element has action_id "value"."""

    CODE = "code"
    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    OWNER = "owner"
    TAGS = "tags"
    CONSENT = "consent"


INPUT_ACTION = "value"
