"""Facts about NPQ courses that several rules share: schedule families and the support offers.

The two support offers (the Additional Support Offer and its successor, the Early Headship
Coaching Offer) are one course under two names: they count as the same course for "previously
funded" and for the one-accepted-application rule, and, having no assessment, they have no
outcomes and no uplift.
"""

from __future__ import annotations

from app.domain.enums import ScheduleType

# Which schedule family each course may be placed on (the course's "schedule type").
NPQ_COURSE_FAMILIES: dict[str, ScheduleType] = {
    "npq-senior-leadership": ScheduleType.NPQ_LEADERSHIP,
    "npq-headship": ScheduleType.NPQ_LEADERSHIP,
    "npq-executive-leadership": ScheduleType.NPQ_LEADERSHIP,
    "npq-early-years-leadership": ScheduleType.NPQ_LEADERSHIP,
    "npq-leading-teaching": ScheduleType.NPQ_SPECIALIST,
    "npq-leading-behaviour-culture": ScheduleType.NPQ_SPECIALIST,
    "npq-leading-teaching-development": ScheduleType.NPQ_SPECIALIST,
    "npq-leading-literacy": ScheduleType.NPQ_SPECIALIST,
    "npq-leading-primary-mathematics": ScheduleType.NPQ_SPECIALIST,
    "npq-additional-support-offer": ScheduleType.NPQ_SUPPORT,
    "npq-early-headship-coaching-offer": ScheduleType.NPQ_EHCO,
}

SUPPORT_OFFER_COURSES = ("npq-additional-support-offer", "npq-early-headship-coaching-offer")
# Each support offer's other name.
REBRANDED_NPQ_COURSES = {
    "npq-additional-support-offer": "npq-early-headship-coaching-offer",
    "npq-early-headship-coaching-offer": "npq-additional-support-offer",
}
