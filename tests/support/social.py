"""Mastodon and Bluesky search responses, built in the shapes their APIs document.

No Mastodon server installs here, and the local Bluesky PDS has no AppView (search lives in the AppView), so the
feed tests serve these from the local HTTP server: a stand-in peer, said so where it is used. The Bluesky shape
is checked against atproto's own models of ``app.bsky.feed.searchPosts`` in the tests.
"""

from __future__ import annotations

from typing import Any


def mastodon_status(
    n: int, text_html: str, acct: str, *, instance: str = "social.example", lang: str = "en"
) -> dict[str, Any]:
    """A status as GET /api/v1/timelines/tag/:hashtag returns it (Mastodon API docs, Status entity)."""
    user = acct.partition("@")[0]
    return {
        "id": str(110000000000000000 + n),
        "created_at": f"2026-11-22T09:{n % 60:02d}:00.000Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": lang,
        "uri": f"https://{instance}/users/{user}/statuses/{110000000000000000 + n}",
        "url": f"https://{instance}/@{user}/{110000000000000000 + n}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "content": text_html,
        "reblog": None,
        "account": {
            "id": str(1000 + n),
            "username": user,
            "acct": acct,
            "display_name": user.title(),
            "url": f"https://{instance}/@{user}",
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "millcountyflood", "url": f"https://{instance}/tags/millcountyflood"}],
        "emojis": [],
    }


def bluesky_post(n: int, text: str, handle: str, did: str) -> dict[str, Any]:
    """A postView as app.bsky.feed.searchPosts returns it (lexicon app.bsky.feed.defs#postView)."""
    rkey = f"3lbq{n:09d}"
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
        "author": {"did": did, "handle": handle, "displayName": handle.partition(".")[0].title()},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": f"2026-11-22T09:{n % 60:02d}:30.000Z",
            "langs": ["en"],
        },
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "indexedAt": f"2026-11-22T09:{n % 60:02d}:31.000Z",
    }
