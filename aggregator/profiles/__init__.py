"""Site profiles: what a publisher's article pages look like, as data.

Each ``*.yaml`` file in this package is one version of one profile (schema: the fields of
``Profile`` in ``model.py`` and the comments in ``tass.yaml``). A redesign adds a file with a new
``version`` and a later ``valid_from`` instead of editing the old one, so ``tass@2019`` keeps
meaning what its fixtures say. ``model`` says what a profile is, ``load`` builds and checks one
from YAML (or from a feed's inline selectors), ``registry`` knows which exist and chooses one for
a page or a feed; ``datelines`` is the table of agency datelines. The names below are the
package's public face.
"""

from __future__ import annotations

from aggregator.profiles.load import load_profile
from aggregator.profiles.model import VIA, Profile, TimeSource, fallback_from
from aggregator.profiles.registry import (
    all_profiles,
    check_feed_profiles,
    fallback_for,
    feed_profile,
    feed_profile_problem,
    get_profile,
    inline_profile,
    layouts,
    profile_for_url,
    profile_names,
)

__all__ = [
    "VIA",
    "Profile",
    "TimeSource",
    "all_profiles",
    "check_feed_profiles",
    "fallback_for",
    "fallback_from",
    "feed_profile",
    "feed_profile_problem",
    "get_profile",
    "inline_profile",
    "layouts",
    "load_profile",
    "profile_for_url",
    "profile_names",
]
