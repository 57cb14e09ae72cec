"""Who a card is assigned to: members of its board (and those who left, until unassigned)."""
from ..models import Card, User
from ..queries import assignable_people
from . import publish
from .activity import commit, record
from .errors import Invalid


def set_assignees(card: Card, people: list[User], *, actor) -> Card:
    """The card is assigned to exactly these people: one activity for each assigned or unassigned."""
    allowed = {person.id for person in assignable_people(card.board, card)}
    if any(person.id not in allowed for person in people):
        raise Invalid({"assignees": "Only members of the board can be assigned to its cards."})
    added = [person for person in people if person not in card.assignees]
    removed = [person for person in card.assignees if person not in people]
    for person in added:
        record(card.board_id, "card.assigned", actor=actor, card=card, member=person.name)
    for person in removed:
        record(card.board_id, "card.unassigned", actor=actor, card=card, member=person.name)
    card.assignees = list(people)
    commit(card.board_id, actor)
    publish.card_face_changed(card)
    return card


def assign(card: Card, person: User, *, actor) -> Card:
    people = list(card.assignees)
    return set_assignees(card, people if person in people else [*people, person], actor=actor)


def unassign(card: Card, person: User, *, actor) -> Card:
    return set_assignees(card, [other for other in card.assignees if other != person], actor=actor)
