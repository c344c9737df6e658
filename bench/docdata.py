"""Data sets for the documents benchmark: a different invoice or report for every seed.

Typst memoizes per process and a loop over one data set measures its cache, not its work, so
every render of the benchmark gets its own seed. The same seed always gives the same data, so
Pressroom and the bare loop render exactly the same documents; ``Seeds`` hands out seeds not
used before in a run. Standard library only.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

FIRST = (
    "Acme",
    "Blue Harbor",
    "Cobalt",
    "Delta",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Helix",
    "Ironwood",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Northwind",
    "Orchard",
    "Pinnacle",
    "Quarry",
    "Riverside",
    "Summit",
    "Tidewater",
)
SECOND = (
    "Analytics",
    "Logistics",
    "Systems",
    "Foods",
    "Labs",
    "Builders",
    "Media",
    "Retail",
    "Partners",
    "Studios",
)
FORM = ("GmbH", "Ltd", "SAS", "BV", "Inc.", "AB", "S.p.A.", "Oy")
CITIES = (
    ("Rosenstraße 8", "10178 Berlin", "Germany"),
    ("4 Quai de la Loire", "75019 Paris", "France"),
    ("Herengracht 182", "1016 BR Amsterdam", "Netherlands"),
    ("Via Torino 61", "20123 Milano", "Italy"),
    ("Drottninggatan 33", "111 51 Stockholm", "Sweden"),
    ("12 Foundry Lane", "Leeds LS1 4AP", "United Kingdom"),
)
SERVICES = (
    "Annual report design",
    "Offset printing",
    "Digital proofs",
    "Brochure layout",
    "Rush handling",
    "Courier delivery",
    "Paper upgrade, 170 g/m²",
    "Binding, perfect bound",
    "Colour correction",
    "Photo retouching",
    "Poster printing, A1",
    "Business cards, 500",
    "Packaging mock-up",
    "Foil stamping",
    "Warehouse storage, month",
)
REGIONS = ("North", "South", "East", "West", "Central")
MONTHS = ("July", "August", "September")
LOCALES = ("en_GB", "en_US", "de_DE", "fr_FR", "nl_NL")


def company(rng: random.Random) -> str:
    """A made-up company name."""
    return f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(FORM)}"


def invoice(seed: int, rows: int | None = None) -> dict[str, Any]:
    """An invoice (the examples/invoice data's shape), one per seed; ``rows`` line items, or
    5 to 10 of them (an invoice of one A4 page in every engine)."""
    rng = random.Random(seed)
    if rows is None:
        rows = 5 + seed % 6
    issued = date(2025, 1, 1) + timedelta(days=seed % 700)
    street, city, country = rng.choice(CITIES)
    number = f"INV-{2025 + seed // 100_000}-{seed % 100_000:05d}"
    items = [
        {
            "description": f"{rng.choice(SERVICES)} #{rng.randint(100, 999)}",
            "quantity": rng.choice((1, 1, 2, 3, 5, 10, 25, 100, 250, 500)),
            "unit_price": round(rng.uniform(2, 900), 2),
        }
        for _ in range(rows)
    ]
    return {
        "locale": rng.choice(LOCALES),
        "currency": rng.choice(("EUR", "GBP", "USD", "SEK")),
        "tax_rate": rng.choice((0.2, 0.19, 0.21, 0.25)),
        "invoice": {
            "number": number,
            "date": issued.isoformat(),
            "due": (issued + timedelta(days=30)).isoformat(),
        },
        "seller": {
            "name": "Northwind Print Works Ltd",
            "address": ["12 Foundry Lane", "Leeds LS1 4AP", "United Kingdom"],
            "vat_id": "GB123456789",
            "iban": "GB33 BUKB 2020 1555 5555 55",
        },
        "customer": {
            "name": company(rng),
            "address": [
                f"Attn. {rng.choice(('Accounts', 'Finance', 'Purchasing'))}",
                street,
                city,
                country,
            ],
        },
        "items": items,
        "note": f"Thank you for your business (order {rng.randint(10_000, 99_999)}).",
        "payment_url": f"https://pay.example.com/i/{number}",
    }


def report(seed: int, orders: int = 1000) -> dict[str, Any]:
    """A quarterly report (examples/report's shape) with an ``orders``-row table."""
    rng = random.Random(1_000_000 + seed)
    regions = []
    for name in REGIONS:
        months = [
            {
                "month": month,
                "revenue": rng.randint(90_000, 260_000),
                "orders": rng.randint(40, 160),
            }
            for month in MONTHS
        ]
        revenue = sum(m["revenue"] for m in months)
        regions.append(
            {
                "name": name,
                "revenue": revenue,
                "target": int(revenue * rng.uniform(0.85, 1.2)),
                "comment": (
                    f"{name} region closed the quarter with {sum(m['orders'] for m in months)} "
                    f"orders; {rng.choice(('two', 'three', 'four'))} large renewals are "
                    f"{rng.choice(('on track', 'at risk', 'signed'))}."
                ),
                "months": months,
            }
        )
    return {
        "title": f"Quarterly Operations Report {seed}",
        "company": company(rng),
        "period": f"Q{1 + seed % 4} {2020 + seed % 7}",
        "author": "Finance & Operations",
        "currency_symbol": rng.choice(("€", "£", "$")),
        "summary": (
            f"Revenue grew in {rng.randint(2, 5)} of five regions. Order volume moved "
            f"{rng.randint(-9, 15)}% on the prior quarter while average order value held steady. "
            "This report details results by region and lists the quarter's orders."
        ),
        "regions": regions,
        "orders": [
            {
                "id": f"SO-{seed % 1000:03d}{i:05d}",
                "customer": company(rng),
                "region": rng.choice(REGIONS),
                "amount": rng.randint(500, 90_000),
            }
            for i in range(orders)
        ],
    }


class Seeds:
    """Hands out data-set seeds never used before in this run."""

    def __init__(self, start: int = 1) -> None:
        self.next = start

    def take(self, n: int) -> list[int]:
        """``n`` fresh seeds."""
        out = list(range(self.next, self.next + n))
        self.next += n
        return out
