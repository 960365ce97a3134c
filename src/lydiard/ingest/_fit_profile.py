"""The small part of the FIT profile that Lydiard reads.

Field numbers, base types, scales and enum values are facts of the FIT protocol
(Garmin FIT SDK profile); only the messages and fields Lydiard needs are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Seconds between the Unix epoch and the FIT epoch (1989-12-31T00:00:00Z).
FIT_EPOCH_UNIX_S: Final = 631_065_600

#: Field number of ``timestamp`` in every message that has one.
FIELD_TIMESTAMP: Final = 253

# Global message numbers.
MESG_FILE_ID: Final = 0
MESG_SPORT: Final = 12
MESG_SESSION: Final = 18
MESG_LAP: Final = 19
MESG_RECORD: Final = 20
MESG_HRV: Final = 78


@dataclass(frozen=True, slots=True)
class BaseType:
    """A FIT base type: element size, numpy kind and the 'invalid' sentinel."""

    name: str
    size_b: int
    kind: str  #: numpy kind + size without byte order, e.g. "u2", "f4"
    invalid: int  #: the invalid sentinel, as the unsigned bit pattern of one element
    is_string: bool = False


#: Base types by their number (the low five bits of the base-type byte).
BASE_TYPES: Final[dict[int, BaseType]] = {
    0x00: BaseType("enum", 1, "u1", 0xFF),
    0x01: BaseType("sint8", 1, "i1", 0x7F),
    0x02: BaseType("uint8", 1, "u1", 0xFF),
    0x03: BaseType("sint16", 2, "i2", 0x7FFF),
    0x04: BaseType("uint16", 2, "u2", 0xFFFF),
    0x05: BaseType("sint32", 4, "i4", 0x7FFF_FFFF),
    0x06: BaseType("uint32", 4, "u4", 0xFFFF_FFFF),
    0x07: BaseType("string", 1, "u1", 0x00, is_string=True),
    0x08: BaseType("float32", 4, "f4", 0xFFFF_FFFF),
    0x09: BaseType("float64", 8, "f8", 0xFFFF_FFFF_FFFF_FFFF),
    0x0A: BaseType("uint8z", 1, "u1", 0x00),
    0x0B: BaseType("uint16z", 2, "u2", 0x0000),
    0x0C: BaseType("uint32z", 4, "u4", 0x0000_0000),
    0x0D: BaseType("byte", 1, "u1", 0xFF),
    0x0E: BaseType("sint64", 8, "i8", 0x7FFF_FFFF_FFFF_FFFF),
    0x0F: BaseType("uint64", 8, "u8", 0xFFFF_FFFF_FFFF_FFFF),
    0x10: BaseType("uint64z", 8, "u8", 0x0000_0000_0000_0000),
}

#: Used when a field's size is not a multiple of its base type's size (as the FIT SDK does).
BYTE_FALLBACK: Final = BASE_TYPES[0x02]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One profile field: number, output name (with unit), scale and offset."""

    num: int
    name: str
    scale: float = 1.0
    offset: float = 0.0


RECORD_FIELDS: Final = (
    FieldSpec(0, "lat_semicircles"),
    FieldSpec(1, "lon_semicircles"),
    FieldSpec(2, "altitude_m", 5.0, 500.0),
    FieldSpec(3, "hr_bpm"),
    FieldSpec(4, "cadence_rpm"),
    FieldSpec(5, "distance_m", 100.0),
    FieldSpec(6, "speed_mps", 1000.0),
    FieldSpec(7, "power_w"),
    FieldSpec(13, "temperature_c"),
    FieldSpec(73, "enhanced_speed_mps", 1000.0),
    FieldSpec(78, "enhanced_altitude_m", 5.0, 500.0),
)
#: record.compressed_speed_distance: 12 bits speed (/100 m/s), 12 bits distance (/16 m, accumulated).
RECORD_COMPRESSED_SPEED_DISTANCE: Final = 8

LAP_FIELDS: Final = (
    FieldSpec(2, "start_time_s"),
    FieldSpec(7, "duration_s", 1000.0),
    FieldSpec(8, "timer_time_s", 1000.0),
    FieldSpec(9, "distance_m", 100.0),
    FieldSpec(15, "avg_hr_bpm"),
    FieldSpec(16, "max_hr_bpm"),
    FieldSpec(19, "avg_power_w"),
)

SESSION_FIELDS: Final = (
    FieldSpec(2, "start_time_s"),
    FieldSpec(5, "sport"),
    FieldSpec(6, "sub_sport"),
    FieldSpec(7, "duration_s", 1000.0),
    FieldSpec(8, "timer_time_s", 1000.0),
    FieldSpec(9, "distance_m", 100.0),
    FieldSpec(16, "avg_hr_bpm"),
    FieldSpec(17, "max_hr_bpm"),
    FieldSpec(20, "avg_power_w"),
)

SPORT_FIELDS: Final = (
    FieldSpec(0, "sport"),
    FieldSpec(1, "sub_sport"),
)

FILE_ID_FIELDS: Final = (
    FieldSpec(0, "type"),
    FieldSpec(1, "manufacturer"),
    FieldSpec(2, "product"),
    FieldSpec(4, "time_created_s"),
)
FILE_ID_PRODUCT_NAME: Final = 8  #: string field

HRV_TIME: Final = 0  #: hrv.time: array of uint16, 1/1000 s

#: FIT ``sport`` enum -> Lydiard sport (anything not listed is "other").
SPORT_TO_LYDIARD: Final[dict[int, str]] = {
    1: "run",
    2: "ride",
    5: "swim",
    11: "walk",
    12: "ski",  # cross_country_skiing
    13: "ski",  # alpine_skiing
    15: "row",
    16: "hike",  # mountaineering
    17: "hike",
    21: "ride",  # e_biking
}

#: For sports that only say "gym": sub_sport -> Lydiard sport.
SUB_SPORT_TO_LYDIARD: Final[dict[int, str]] = {
    1: "run",  # treadmill
    6: "ride",  # indoor_cycling
    14: "row",  # indoor_rowing
    20: "strength",  # strength_training
    25: "ski",  # indoor_skiing
    27: "walk",  # indoor_walking
    45: "run",  # indoor_running
}
#: FIT sports whose sub_sport decides (generic, fitness_equipment, training).
SPORTS_DECIDED_BY_SUB_SPORT: Final = frozenset({0, 4, 10})

SPORT_NAMES: Final[dict[int, str]] = {
    0: "generic", 1: "running", 2: "cycling", 3: "transition", 4: "fitness_equipment",
    5: "swimming", 10: "training", 11: "walking", 12: "cross_country_skiing",
    13: "alpine_skiing", 14: "snowboarding", 15: "rowing", 16: "mountaineering",
    17: "hiking", 18: "multisport", 19: "paddling", 21: "e_biking",
    37: "stand_up_paddleboarding", 41: "kayaking",
}

SUB_SPORT_NAMES: Final[dict[int, str]] = {
    0: "generic", 1: "treadmill", 2: "street", 3: "trail", 4: "track", 5: "spin",
    6: "indoor_cycling", 7: "road", 8: "mountain", 9: "downhill", 10: "recumbent",
    11: "cyclocross", 12: "hand_cycling", 13: "track_cycling", 14: "indoor_rowing",
    15: "elliptical", 16: "stair_climbing", 17: "lap_swimming", 18: "open_water",
    19: "flexibility_training", 20: "strength_training", 21: "warm_up", 22: "match",
    23: "exercise", 24: "challenge", 25: "indoor_skiing", 26: "cardio_training",
    27: "indoor_walking", 28: "e_bike_fitness", 29: "bmx", 30: "casual_walking",
    31: "speed_walking", 42: "skate_skiing", 43: "yoga", 44: "pilates",
    45: "indoor_running", 46: "gravel_cycling", 47: "e_bike_mountain", 48: "commuting",
    49: "mixed_surface", 58: "virtual_activity",
}

#: FIT ``manufacturer`` enum -> name, for the manufacturers Lydiard users are likely to meet.
MANUFACTURER_NAMES: Final[dict[int, str]] = {
    1: "garmin",
    6: "srm",
    13: "dynastream_oem",
    15: "dynastream",
    16: "timex",
    23: "suunto",
    32: "wahoo_fitness",
    37: "magellan",
    38: "osynce",
    69: "stages_cycling",
    70: "sigmasport",
    71: "tomtom",
    76: "moxy",
    87: "nielsen_kellerman",
    89: "tacx",
    95: "stryd",
    118: "waterrower",
    123: "polar_electro",
    255: "development",
    260: "zwift",
    263: "favero_electronics",
    265: "strava",
    267: "bryton",
    289: "hammerhead",
    294: "coros",
    307: "onelap",
}
