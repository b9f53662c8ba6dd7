"""Shipping label and parcel-cost helpers for a small web shop."""

from dataclasses import dataclass

# Price per started kilogram, by destination zone.
ZONE_RATES = {"domestic": 4.5, "eu": 9.0, "world": 18.0}


@dataclass
class Parcel:
    """A parcel awaiting dispatch."""

    order_id: int
    recipient: str
    city: str
    weight_grams: int
    zone: str = "domestic"


def billable_kilograms(weight_grams):
    """Round a weight up to whole kilograms (minimum 1 kg)."""
    return max(1, -(-weight_grams // 1000))


def shipping_cost(parcel):
    """Cost of shipping ``parcel``, based on zone and billable weight."""
    try:
        rate = ZONE_RATES[parcel.zone]
    except KeyError:
        raise ValueError(f"unknown shipping zone: {parcel.zone}") from None
    return round(rate * billable_kilograms(parcel.weight_grams), 2)


def label_text(parcel):
    """Render the text printed on the parcel's shipping label."""
    header = "ORDER #" + str(parcel.order_id)
    lines = [header, parcel.recipient.upper(), parcel.city.upper()]
    lines.append(f"{billable_kilograms(parcel.weight_grams)} KG / {parcel.zone.upper()}")
    return "\n".join(lines)
