"""The tool catalogue behind the ``tool_use`` suite, written for this project.

Each tool has a one-line description, typed parameters whose values come from
small pools, and request templates that mention every argument value
verbatim, so a correct call can be checked by exact match. Each tool also has
a result template (what it returns, naming its argument values, for judging
whether a result serves a request) and there are argument-agnostic filler
sentences that mention a value in passing (distractors in long requests).
"""

from __future__ import annotations

CITIES = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Denver", "Madrid", "Seoul", "Nairobi", "Dublin",
          "Boston", "Sydney", "Toronto", "Vienna", "Lagos", "Austin"]
PEOPLE = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Julia", "Kofi", "Lena"]
LANGUAGES = ["French", "German", "Spanish", "Japanese", "Italian", "Korean", "Dutch", "Swahili"]
CURRENCIES = ["USD", "EUR", "JPY", "GBP", "CHF", "CAD", "INR", "BRL"]
SONGS = ["Blue River", "Night Train", "Golden Hour", "Paper Moon", "Silent Hills", "Open Road", "Red Kite"]
TIMES = ["06:30", "07:15", "08:00", "09:45", "12:00", "17:30", "21:10", "22:45"]
DATES = ["2025-03-14", "2025-05-02", "2025-06-21", "2025-08-09", "2025-10-30", "2025-12-24"]
TOPICS = ["budget", "launch", "hiring", "travel", "roadmap", "invoice", "party", "security"]
ITEMS = ["milk", "bread", "coffee", "apples", "rice", "eggs", "soap", "batteries"]
NUMBERS = ["2", "3", "4", "5", "6", "10", "12", "20"]
AMOUNTS = ["15", "40", "120", "250", "75", "999", "60", "310"]
FILES = ["report.txt", "notes.md", "photo.png", "data.csv", "draft.docx", "slides.pdf"]
STOCKS = ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI", "STARK"]
DISHES = ["pasta", "curry", "tacos", "soup", "salad", "pancakes", "risotto"]
UNITS = ["celsius", "fahrenheit"]

# name -> (description, [(param, pool)], [request templates])
TOOLS: dict[str, tuple[str, list[tuple[str, list[str]]], list[str]]] = {
    "get_weather": (
        "Get the current weather forecast for a city.",
        [("city", CITIES), ("unit", UNITS)],
        ["What is the weather in {city} right now? Give it in {unit}.",
         "Tell me the forecast for {city} in {unit}.",
         "Will it rain in {city} today? Use {unit}."],
    ),
    "send_email": (
        "Send an email message to a contact.",
        [("to", PEOPLE), ("subject", TOPICS)],
        ["Email {to} about the {subject}.",
         "Send a message to {to} with the subject {subject}.",
         "Please write to {to} regarding the {subject}."],
    ),
    "translate_text": (
        "Translate a word or phrase into another language.",
        [("text", SONGS), ("language", LANGUAGES)],
        ["Translate \"{text}\" into {language}.",
         "How do you say \"{text}\" in {language}?"],
    ),
    "convert_currency": (
        "Convert an amount of money from one currency to another.",
        [("amount", AMOUNTS), ("source", CURRENCIES), ("target", CURRENCIES)],
        ["Convert {amount} {source} to {target}.",
         "How much is {amount} {source} in {target}?"],
    ),
    "set_alarm": (
        "Set an alarm clock for a given time.",
        [("time", TIMES)],
        ["Wake me up at {time}.", "Set an alarm for {time}.", "I need an alarm at {time} tomorrow."],
    ),
    "play_music": (
        "Play a song on the speaker.",
        [("song", SONGS)],
        ["Play the song {song}.", "Put on {song} please.", "I want to listen to {song}."],
    ),
    "book_flight": (
        "Book a plane ticket between two cities on a date.",
        [("origin", CITIES), ("destination", CITIES), ("date", DATES)],
        ["Book a flight from {origin} to {destination} on {date}.",
         "I need to fly from {origin} to {destination} on {date}."],
    ),
    "add_to_cart": (
        "Add a grocery item to the shopping cart.",
        [("item", ITEMS), ("quantity", NUMBERS)],
        ["Add {quantity} {item} to my cart.", "Put {quantity} packs of {item} in the shopping cart."],
    ),
    "get_stock_price": (
        "Look up the latest share price of a company.",
        [("ticker", STOCKS)],
        ["What is the share price of {ticker}?", "How is {ticker} stock trading today?"],
    ),
    "find_recipe": (
        "Find a cooking recipe for a dish.",
        [("dish", DISHES), ("servings", NUMBERS)],
        ["Find me a recipe for {dish} for {servings} people.",
         "How do I cook {dish} for {servings} guests?"],
    ),
    "delete_file": (
        "Delete a file from the disk.",
        [("path", FILES)],
        ["Delete the file {path}.", "Remove {path} from my folder."],
    ),
    "schedule_meeting": (
        "Put a meeting with a person in the calendar.",
        [("person", PEOPLE), ("date", DATES), ("time", TIMES)],
        ["Schedule a meeting with {person} on {date} at {time}.",
         "Set up a call with {person} for {date} at {time}."],
    ),
    "call_taxi": (
        "Order a taxi to a destination.",
        [("destination", CITIES)],
        ["Get me a taxi to {destination}.", "Order a cab to {destination}."],
    ),
    "set_timer": (
        "Start a countdown timer in minutes.",
        [("minutes", NUMBERS)],
        ["Start a timer for {minutes} minutes.", "Count down {minutes} minutes for me."],
    ),
    "search_restaurants": (
        "Search for restaurants serving a dish in a city.",
        [("dish", DISHES), ("city", CITIES)],
        ["Find a restaurant with {dish} in {city}.", "Where can I eat {dish} in {city}?"],
    ),
    "compress_file": (
        "Pack a file into a zip archive.",
        [("path", FILES)],
        ["Zip the file {path}.", "Make an archive of {path}."],
    ),
}

# name -> what the tool returns, naming its argument values (``review``: a result whose
# values differ from the request's does not serve it).
RESULTS: dict[str, str] = {
    "get_weather": "{city}: 14 degrees {unit}, light rain, wind 12 km/h.",
    "send_email": "Email to {to} with subject '{subject}' sent.",
    "translate_text": "\"{text}\" in {language}: done, 2 words.",
    "convert_currency": "{amount} {source} = 1.37 x {amount} {target} at today's rate ({source} to {target}).",
    "set_alarm": "Alarm set for {time}.",
    "play_music": "Now playing: {song}.",
    "book_flight": "Ticket booked: {origin} to {destination}, departing {date}, seat 14C.",
    "add_to_cart": "Cart updated: {quantity} x {item}.",
    "get_stock_price": "{ticker} trades at 182.40, up 1.2% today.",
    "find_recipe": "Recipe found: {dish} for {servings}, 35 minutes.",
    "delete_file": "File {path} deleted.",
    "schedule_meeting": "Meeting with {person} booked on {date} at {time}.",
    "call_taxi": "A taxi to {destination} arrives in 6 minutes.",
    "set_timer": "Timer running: {minutes} minutes.",
    "search_restaurants": "3 places serve {dish} in {city}; the closest is 400 m away.",
    "compress_file": "Archive {path}.zip created.",
}

# Sentences that mention a value without making it the request's (``understand``);
# ``{value}`` is any argument value, so they fit every tool.
FILLERS: list[str] = [
    "Last week it was {value}, but that is settled.",
    "My colleague keeps talking about {value}; ignore that.",
    "Forget what I said earlier about {value}.",
    "I already dealt with {value} yesterday.",
    "Someone suggested {value}, which is not what I want.",
    "The old plan mentioned {value}, but it changed.",
]
