"""The read side: search results, exports, doctor, re-extraction and Datasette."""
