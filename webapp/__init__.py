"""The analysts' web app: search, listing evidence, triage, sellers, overview and saved searches.

A thin FastAPI shell over library code (`index_config.search`, `index_config.sellers`,
`index_config.overview`, `core.store`): server-rendered Jinja2 pages with a little
plain JavaScript served from `static/`, and a JSON API under `/api` described at `/api/docs`.
Start it with `listingwatch app serve`. Everything a crawled page wrote is escaped on output.
"""
