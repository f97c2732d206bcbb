"""Question understanding: names, roles, dates and follow-ups become filters."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.models import EpisodeMeta, Person
from rag.types import Filters, Message
from rag.understand import GUESTS, detect_language, name_groups, understand

HOST = Person("Delphine Sabattier", role="présentatrice", is_host=True)
DECEMBER_GUESTS = [
    Person("Imène Kabouya", role="Partner", affiliation="Wavestone"),
    Person("Audrey Maurel", role="Avocate"),
    Person("Julien Pillot", role="Consultant, Enseignant-chercheur en économie", affiliation="Inseec"),
    Person("Eric Haddad", role="président exécutif", affiliation="NumSpot"),
]
JUNE_GUESTS = [Person("Louis Soris", role="avocat et fondateur", affiliation="cabinet Soris Avocats"),
               Person("Marc Kaplan"), Person("Dorothée Decrop"), Person("Alain Staron")]
PEOPLE = [HOST, *DECEMBER_GUESTS, *JUNE_GUESTS]
EPISODES = [EpisodeMeta("smart-tech-2025-06-19", "June", date=date(2025, 6, 19)),
            EpisodeMeta("smart-tech-2025-12-11", "December", date=date(2025, 12, 11))]


@pytest.mark.parametrize(
    ("question", "speakers"),
    [
        ("What did Julien Pillot say about public procurement?", ["Julien Pillot"]),
        ("what did pillot think of the market?", ["Julien Pillot"]),
        ("Qu'a dit Imen sur le cloud ?", ["Imène Kabouya"]),  # the subtitles' spelling
        ("Selon Maître Morel, la plateforme a-t-elle des coûts cachés ?", ["Audrey Maurel"]),
        ("What did Sorris say about AI?", ["Louis Soris"]),
        ("Qu'a dit l'avocate sur le DSA ?", ["Audrey Maurel"]),
        ("Qu'a dit Louis Soris sur le marché ?", ["Louis Soris"]),  # 'marché' is not Marc
        ("What was said about the quantum campus?", []),
    ],
)
def test_people_named_in_a_question_become_a_speaker_filter(question: str, speakers: list[str]) -> None:
    assert understand(question, PEOPLE, EPISODES).speakers == speakers


@pytest.mark.parametrize("question", [
    "Comment Eric Haddad a-t-il répondu à Julien Pillot sur la commande publique ?",
    "How did Eric Haddad answer Julien Pillot about public procurement?",
])
def test_the_person_answered_is_not_who_the_question_is_about(question: str) -> None:
    assert understand(question, PEOPLE, EPISODES).speakers == ["Eric Haddad"]


def test_two_people_answering_stay_two_speakers() -> None:
    question = "How did Audrey Maurel and Julien Pillot answer Musk's complaint that Europe over-regulates?"
    assert understand(question, PEOPLE, EPISODES).speakers == ["Audrey Maurel", "Julien Pillot"]


def test_the_lawyer_names_every_lawyer_on_the_rosters() -> None:
    assert understand("What did the lawyer say about AI?", PEOPLE, EPISODES).speakers == ["Audrey Maurel", "Louis Soris"]


@pytest.mark.parametrize("question", [
    "What did the lawyer Louis Sorris say about cyber security?",   # held-out h06's wording
    "Qu'a dit Louis Soris, l'avocat, sur la cybersécurité ?",
    "What did Soris the lawyer say about NIS2?",
])
def test_a_role_word_beside_a_name_describes_that_person_only(question: str) -> None:
    assert understand(question, PEOPLE, EPISODES).speakers == ["Louis Soris"]


@pytest.mark.parametrize(
    ("question", "episodes"),
    [
        ("What did Imen say in the December 11 episode?", ["smart-tech-2025-12-11"]),
        ("Qu'a dit Alain Staron en juin ?", ["smart-tech-2025-06-19"]),
        ("Qu'a-t-on dit le 11 décembre sur X ?", ["smart-tech-2025-12-11"]),
        ("Anything about 2025-06-19?", ["smart-tech-2025-06-19"]),
        ("What may happen to cloud prices?", []),
    ],
)
def test_dates_become_an_episode_filter(question: str, episodes: list[str]) -> None:
    assert understand(question, PEOPLE, EPISODES).episodes == episodes


def test_the_topic_drops_names_and_question_words() -> None:
    q = understand("Qu'a dit Julien Pillot sur la commande publique ?", PEOPLE, EPISODES)
    assert q.topic == "commande publique" and q.language == "fr"


def test_explicit_filters_win_over_the_text() -> None:
    q = understand("What did Julien Pillot say?", PEOPLE, EPISODES, Filters(speakers=["Audrey Maurel"]))
    assert q.speakers == ["Audrey Maurel"]


def test_a_follow_up_with_a_pronoun_keeps_the_speaker_and_takes_the_new_topic() -> None:
    history = [Message("user", "What did Julien Pillot say about public procurement?"),
               Message("assistant", "Julien Pillot raised public procurement twice...")]
    q = understand("and what did he say about data centers?", PEOPLE, EPISODES, history=history)
    assert q.speakers == ["Julien Pillot"] and q.topic == "data centers" and q.follow_up


def test_an_elliptical_follow_up_keeps_the_topic_and_takes_the_new_speaker() -> None:
    history = [Message("user", "Qu'a dit Julien Pillot sur la commande publique ?"), Message("assistant", "...")]
    q = understand("et Audrey Maurel ?", PEOPLE, EPISODES, history=history)
    assert q.speakers == ["Audrey Maurel"] and q.topic == "commande publique"


@pytest.mark.parametrize(
    ("question", "label"),
    [
        ("What did Julien Pillot say about public procurement?", "public procurement"),
        ("Qu'a dit Julien Pillot sur la commande publique ?", "la commande publique"),
        ("What was said about the American hyperscalers in both episodes?", "the American hyperscalers"),
        ("What are quantum sensors, according to Marc Kaplan?", "quantum sensors"),
        ("What did Marc Kaplan think of the quantum defense campus?", "the quantum defense campus"),
        ("Qu'a pensé Dorothée Decrop d'Elon Musk ?", "Elon Musk"),  # not "crop d'Elon Musk"
        ("Qu'a dit Imène des data centers ?", "data centers"),
        ("Qu'a dit Julien Pillot du sommet franco-allemand ?", "sommet franco-allemand"),
        ("Qu'ont pensé les invités du virage de NumSpot ?", "virage de NumSpot"),
        ("What is Hexatrust?", "Hexatrust"),
        ("Qu'a dit Audrey Maurel sur le cloud en octobre ?", "le cloud"),  # the date is a filter, not the topic
        # An inverted verb starts the question's own clause: the label stops before it.
        ("Combien de fois le guide de la DGE sur les data centers parle-t-il de souveraineté, d'après Julien Pillot ?",
         "les data centers"),
        # Keyword residues that would read badly quoted: the answer names no topic.
        ("Qu'est-ce qui change chez NumSpot selon Eric Haddad ?", ""),
        ("Comment Alain Staron a-t-il vécu Vivatech ?", ""),
        ("Pourquoi Alain Staron pense-t-il que la défense est un bon moteur d'innovation ?", ""),
        ("How does Eric Haddad position NumSpot against the American cloud providers?", ""),
    ],
)
def test_the_label_names_the_topic_in_the_askers_words_or_not_at_all(question: str, label: str) -> None:
    assert understand(question, PEOPLE, EPISODES).label == label


def test_a_follow_up_carries_the_topic_with_its_label() -> None:
    history = [Message("user", "Qu'a dit Julien Pillot sur la commande publique ?"), Message("assistant", "...")]
    q = understand("et Audrey Maurel ?", PEOPLE, EPISODES, history=history)
    assert q.label == "la commande publique"


@pytest.mark.parametrize("question", ["What did the guests think of the quantum campus?",
                                      "Qu'ont dit les invités sur la commande publique ?",
                                      "Which guest was most critical of the Meta deal?",
                                      "Quel invité a parlé du campus quantique ?"])
def test_the_guests_means_every_guest_and_never_the_host(question: str) -> None:
    q = understand(question, PEOPLE, EPISODES)
    assert q.guests_only and set(q.speakers) == {p.name for p in PEOPLE if not p.is_host}


def test_a_named_guest_is_not_widened_to_all_guests() -> None:
    q = understand("Which of the guests agreed with Julien Pillot?", PEOPLE, EPISODES)
    assert q.speakers == ["Julien Pillot"] and not q.guests_only


def test_a_new_full_question_does_not_inherit_anything() -> None:
    history = [Message("user", "What did Julien Pillot say about public procurement in December?")]
    q = understand("What did the guests think of the quantum defence campus announced by the minister?",
                   PEOPLE, EPISODES, history=history)
    assert q.guests_only and len(q.speakers) == len(PEOPLE) - 1  # every guest, not the earlier Julien Pillot alone
    assert q.episodes == [] and "quantum" in q.topic


@pytest.mark.parametrize(("text", "lang"), [("What did she say?", "en"), ("Qu'a-t-elle dit sur l'IA ?", "fr"),
                                            ("Tell me about Imène Kabouya", "en"),  # a name's accents are not French
                                            ("Qui est Imène Kabouya ?", "fr"),
                                            ("Who gave a red card?", "en"),  # "a" is English too
                                            ("Qui a sorti un carton rouge ?", "fr"),
                                            ("In June?", "en"), ("En juin ?", "fr")])
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("question", "speakers"),
    [
        ("Who is Dorothée Decrop?", ["Dorothée Decrop"]),
        ("Qui est Julien Pillot ?", ["Julien Pillot"]),
        ("What does Eric Haddad do?", ["Eric Haddad"]),
        ("Who is the lawyer?", ["Louis Soris", "Audrey Maurel"]),
        ("Présentez-moi Alain Staron", ["Alain Staron"]),
    ],
)
def test_who_is_x_asks_about_the_person_not_their_turns(question: str, speakers: list[str]) -> None:
    q = understand(question, PEOPLE, EPISODES)
    assert q.intent == "who" and sorted(q.speakers) == sorted(speakers) and q.topic == ""


@pytest.mark.parametrize("question", [
    "Who is the president of NumSpot?",  # nobody named: a fact to search for
    "What did Julien Pillot say about public procurement?",
    "Qui est responsable du guide de la DGE selon Julien Pillot ?",  # a topic besides the person
    "What does Eric Haddad do about sovereignty?",
])
def test_other_questions_are_not_identity_questions(question: str) -> None:
    assert understand(question, PEOPLE, EPISODES).intent == "search"


@pytest.mark.parametrize("question", ["Who is she?", "and who is she?", "Et qui est-elle ?"])
def test_who_is_she_takes_the_person_from_the_conversation_and_not_its_topic(question: str) -> None:
    history = [Message("user", "What did Audrey Maurel say about data centers?")]
    q = understand(question, PEOPLE, EPISODES, history=history)
    assert q.intent == "who" and q.speakers == ["Audrey Maurel"] and q.topic == ""


@pytest.mark.parametrize(("question", "speakers"), [
    ("What is Wavestone?", ["Imène Kabouya"]),
    ("Qu'est-ce que Hexatrust ?", []),  # not on this test roster's affiliations
    ("What is the DSA?", []),
    ("What is Wavestone's strategy?", []),  # a topic besides the organisation: searched as usual
])
def test_what_is_an_affiliation_asks_who_works_there(question: str, speakers: list[str]) -> None:
    q = understand(question, PEOPLE, EPISODES)
    assert (q.intent == "who") == bool(speakers) and q.speakers == speakers


@pytest.mark.parametrize(("question", "topic"), [
    ("Qu'ont dit les invités de l'émission sur la radio ?", "radio"),  # accented frame words are frame words
    ("Comment Eric Haddad a-t-il parlé de souveraineté ?", "souveraineté"),  # so are hyphenated ones
    ("Qu'est-ce qui change chez NumSpot ?", "change chez NumSpot"),
])
def test_frame_words_are_dropped_from_the_topic_however_they_are_spelled(question: str, topic: str) -> None:
    assert understand(question, PEOPLE, EPISODES).topic == topic


@pytest.mark.parametrize(("question", "episodes"), [
    ("What was discussed in the June episode?", ["smart-tech-2025-06-19"]),
    ("Quels sont les sujets de l'émission du 11 décembre ?", ["smart-tech-2025-12-11"]),
    ("De quoi a-t-on parlé en juin ?", ["smart-tech-2025-06-19"]),
    ("What topics did the show cover?", []),
])
def test_what_an_episode_covered_is_an_agenda_question(question: str, episodes: list[str]) -> None:
    q = understand(question, PEOPLE, EPISODES)
    assert q.intent == "agenda" and q.episodes == episodes and q.topic == ""


@pytest.mark.parametrize("question", [
    "What was discussed about Meta?",  # a topic: searched as usual
    "What did Julien Pillot discuss in June?",  # a person: their turns
])
def test_a_topic_or_a_person_is_not_an_agenda_question(question: str) -> None:
    assert understand(question, PEOPLE, EPISODES).intent == "search"


def test_and_in_december_keeps_asking_what_was_covered() -> None:
    history = [Message("user", "What was discussed in the June episode?")]
    q = understand("And in December?", PEOPLE, EPISODES, history=history)
    assert q.intent == "agenda" and q.episodes == ["smart-tech-2025-12-11"]


@pytest.mark.parametrize(("question", "intent"), [
    ("Which episodes do you have?", "episodes"),
    ("Combien d'épisodes as-tu ?", "episodes"),
    ("Which episodes talk about quantum computing?", "search"),  # a topic: searched
])
def test_what_the_index_holds_is_its_own_question(question: str, intent: str) -> None:
    assert understand(question, PEOPLE, EPISODES).intent == intent


@pytest.mark.parametrize(("question", "topic", "label"), [
    ("What did the guests say about AI?", "IA", "AI"),  # "ai" is a French stopword, and French says "IA"
    ("What did Julien Pillot say about GDPR fines?", "RGPD fines", "GDPR fines"),
    ("What did Julien Pillot say about the EU?", "EU", "the EU"),  # French says it three ways: left to the embedder
    ("Qu'a dit Julien Pillot sur l'IA ?", "IA", "l'IA"),
    ("How much did Meta pay for Scale AI?", "Meta pay Scale AI", ""),  # a company's name stays as it is
    ("What did Julien Pillot say about Meta's AI team?", "Meta IA team", "Meta's AI team"),
])
def test_an_english_acronym_is_searched_as_french_speech_says_it(question: str, topic: str, label: str) -> None:
    q = understand(question, PEOPLE, EPISODES)
    assert (q.topic, q.label) == (topic, label)


@pytest.mark.parametrize(("question", "topic"), [
    ("What did Eric Haddad say about NumSpot?", ""),  # his own company: every turn of his is about it
    ("Qu'a dit Imène Kabouya sur Wavestone ?", ""),
    ("What did Julien Pillot say about NumSpot?", "NumSpot"),  # someone else's company stays the topic
    ("What did Eric Haddad say about NumSpot's marketplace?", "NumSpot marketplace"),  # more than the name
])
def test_a_speakers_own_company_is_not_a_topic_to_search_for(question: str, topic: str) -> None:
    query = understand(question, PEOPLE, EPISODES)
    assert query.topic == topic and query.speakers and query.intent == "search"


@pytest.mark.parametrize(("question", "intent", "speakers"), [
    ("Which lawyer was on the December show?", "who", ["Audrey Maurel", "Louis Soris"]),
    ("Quel avocat était invité en juin ?", "who", ["Louis Soris"]),
    ("Quel avocat ou quelle avocate faisait partie des débriefeurs dans chacune des deux émissions ?", "who",
     ["Louis Soris", "Audrey Maurel"]),
    # A role asked about with a subject is a search of that person's words.
    ("Which lawyer was worried about AI?", "search", ["Audrey Maurel", "Louis Soris"]),
    ("Quel avocat était inquiet pour la profession ?", "search", ["Louis Soris"]),
])
def test_which_person_holds_a_role_is_answered_from_the_roster(question: str, intent: str,
                                                                speakers: list[str]) -> None:
    query = understand(question, PEOPLE, EPISODES)
    assert (query.intent, query.speakers) == (intent, speakers)


@pytest.mark.parametrize(("question", "names", "groups"), [
    # Each name stands alone: the question is about all of them.
    ("In the December episode, how much was Meta fined by the EU under the DSA?", ["Meta", "EU", "DSA"],
     [["Meta"], ["EU"], ["DSA"]]),
    # Coordinated names are alternatives; a name of two words is one.
    ("What did Julien Pillot say about NumSpot and Meta?", ["NumSpot", "Meta"], [["NumSpot", "Meta"]]),
    ("Qu'ont dit les invités de Shein et de Temu ?", ["Shein", "Temu"], [["Shein", "Temu"]]),
    ("Qu'a dit Audrey Morel sur la prise de 49 % de Scale AI par Meta ?", ["Scale", "AI", "Meta"],
     [["Scale", "AI"], ["Meta"]]),
    ("What did Kaplan say about the Charles de Gaulle aircraft carrier?", ["Charles", "Gaulle"], [["Charles", "Gaulle"]]),
    # A topic carried over from the conversation is not in the question's words: one group.
    ("and Meta?", ["NumSpot", "Meta"], [["Meta"], ["NumSpot"]]),
])
def test_name_groups_follow_how_the_question_joins_names(question: str, names: list[str],
                                                         groups: list[list[str]]) -> None:
    assert name_groups(question, names) == groups


def test_the_shows_word_for_its_guests_means_the_guests() -> None:
    # The host calls her guests "les débriefeurs"; askers borrow the word, in English too.
    assert GUESTS.search("What did the debriefers think of the EU's crisis framework?")
    assert GUESTS.search("Qu'ont dit les débriefeurs du RGPD ?")
    assert not GUESTS.search("What did the host say about the debrief?")


@pytest.mark.parametrize(("question", "said"), [
    ("What did Julien Pillot say about public procurement?", True),
    ("Qu'a pensé Julien Pillot du guide de la DGE ?", True),
    ("Selon Alain Staron, que vont faire les autres clients de Scale AI ?", True),
    ("D'après Imène, de quoi dépend la compétitivité de NumSpot ?", True),
    ("Does Kaplan agree with the minister?", True),
    ("Where did Eric Haddad work before NumSpot?", False),
    ("Quel est le parcours de Marc Kaplan ?", False),
    ("What does Marc Kaplan's company develop?", False),
])
def test_a_question_asks_what_was_said_or_a_fact(question: str, said: bool) -> None:
    assert understand(question, PEOPLE, []).asks_what_was_said is said


@pytest.mark.parametrize(("question", "figure"), [
    ("How much was X fined by the European Union?", True),
    ("How many countries wrote to the European Commission?", True),
    ("Combien de pays ont écrit à la Commission européenne ?", True),
    ("Quel budget a été annoncé pour le campus quantique ?", True),
    ("What amount did Meta put on the table?", True),
    ("What did Julien Pillot say about public procurement?", False),
    ("Quel est le parcours de Marc Kaplan ?", False),
    ("Which lawyer was on the December show?", False),
])
def test_a_question_asks_for_a_figure_or_not(question: str, figure: bool) -> None:
    assert understand(question, PEOPLE, []).asks_quantity is figure


@pytest.mark.parametrize(("question", "ids"), [
    ("Qu'a dit Pillot dans SMART-TECH-2025-12-11 ?", ["smart-tech-2025-12-11"]),
    ("Compare ep7 and smart-tech-2025-06-19", ["smart-tech-2025-06-19", "ep7"]),  # ep7: shorter than the prefix
    ("What was said in ep77?", ["ep7", "ep77"]),  # an id inside another is still said
    ("Anything in ep7?", ["ep7"]),  # the only id said is shorter than the prefix
    ("What was said about Tech in June?", ["smart-tech-2025-06-19"]),  # no id: the date decides
])
def test_an_episode_id_in_the_question_is_its_filter(question: str, ids: list[str]) -> None:
    episodes = [*EPISODES, EpisodeMeta("ep7", "Seventh", date=date(2024, 1, 4)),
                EpisodeMeta("ep77", "Seventy-seventh", date=date(2024, 3, 7))]
    assert understand(question, [], episodes).episodes == ids
