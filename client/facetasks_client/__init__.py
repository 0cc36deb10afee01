"""``facetasks``: the command-line client, which talks to the service only through its REST API."""
