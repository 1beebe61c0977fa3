"""The page as text and as a tree: bytes to text (charset), text to a tree with CSS selectors (dom),
and the signs of an anti-bot interstitial that extraction and feed parsing share (markers)."""
