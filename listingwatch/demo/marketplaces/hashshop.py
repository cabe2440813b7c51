"""A hash-routed single-page shop under ``/hashshop/``: cards from a JSON API behind "Show more", items at ``#<id>``.

- ``/hashshop/`` is a shell; its script fetches ``/hashshop/api/products?page=N`` (`PER_PAGE` cards a
  page, ``has_more`` says whether there are more) and appends a card per product; the "Show more"
  button loads the next page and disappears after the last.
- ``/hashshop/item.html#<id>`` is one document for every item: its script reads the fragment once
  on load and renders ``/hashshop/api/products/<id>``. Without a valid fragment (the URL a crawler
  that drops fragments would fetch) it says "Item not found"; it does not re-render on a hash change.
- ``/hashshop/api/products/<id>`` gives every field: the price in cents with an ISO currency code,
  the posting time in Unix seconds, the seller as an object, photo paths.
"""

import json
from html import escape

from listingwatch.demo.marketplaces.generator import GeneratedListing, generate
from listingwatch.demo.marketplaces.photos import product_png

COUNT = 50
PER_PAGE = 10
PRODUCTS = generate(seed=20261222, sizes={"hashshop": COUNT})["hashshop"]

INDEX_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Night Market</title></head>
<body><h1>Night Market</h1><div id="cards"></div><button id="more" type="button">Show more</button>
<script>
let page = 1, busy = false;
async function load() {
  if (busy) return; busy = true;
  const reply = await fetch('/hashshop/api/products?page=' + page);
  const data = await reply.json();
  for (const p of data.products) {
    const a = document.createElement('a'); a.className = 'card';
    a.setAttribute('href', '/hashshop/item.html#' + encodeURIComponent(p.id)); a.textContent = p.name;
    document.getElementById('cards').appendChild(a);
  }
  page += 1; busy = false;
  if (!data.has_more) document.getElementById('more').remove();
}
document.getElementById('more').addEventListener('click', load);
load();
</script></body></html>"""

ITEM_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Night Market item</title></head>
<body><main id="app"><p>Loading…</p></main>
<script>
const app = document.getElementById('app');
const add = (tag, attrs, text) => { const e = document.createElement(tag); Object.assign(e, attrs);
  if (text !== undefined) e.textContent = text; app.appendChild(e); return e; };
const notFound = () => { app.textContent = ''; add('h1', {className: 'not-found'}, 'Item not found'); };
const id = decodeURIComponent(location.hash.slice(1));
if (!/^[0-9]+$/.test(id)) { notFound(); } else {
  fetch('/hashshop/api/products/' + id).then(r => r.ok ? r.json() : null).then(it => {
    if (!it) return notFound();
    app.textContent = '';
    add('h1', {id: 'title'}, it.name);
    const cents = it.price.amount_minor;
    const amount = (cents / 100).toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2});
    add('span', {id: 'price'}, it.price.currency === 'USD' ? '$' + amount : amount + ' €');
    const seller = add('a', {id: 'seller'}, it.seller.name); seller.setAttribute('href', it.seller.profile);
    const t = add('time', {id: 'posted'}, new Date(it.created_at * 1000).toUTCString());
    t.setAttribute('datetime', new Date(it.created_at * 1000).toISOString());
    add('div', {id: 'desc'}, it.description);
    for (const src of it.images) add('img', {src: src, className: 'photo'});
  });
}
</script></body></html>"""


def item_path(item: GeneratedListing) -> str:
    """The page a person opens for an item (the listing URL in both the browser and the API source)."""
    return f"/hashshop/item.html#{item.id}"


def _images(item: GeneratedListing) -> list[str]:
    return [f"/hashshop/img/{item.id}-{k}.jpg" for k in range(len(item.images))]


def product_json(item: GeneratedListing) -> dict[str, object]:
    return {
        "id": item.id,
        "name": item.title,
        "description": item.description,
        "price": {"amount_minor": round(item.price * 100), "currency": item.currency},
        "seller": {"name": item.seller, "profile": f"/hashshop/seller/{item.seller}"},
        "created_at": int(item.posted_at.timestamp()),
        "images": _images(item),
    }


def products_page(page: int) -> dict[str, object]:
    chunk = PRODUCTS[(page - 1) * PER_PAGE : page * PER_PAGE] if page >= 1 else []
    return {
        "products": [{"id": p.id, "name": p.title} for p in chunk],
        "page": page,
        "has_more": page * PER_PAGE < len(PRODUCTS),
    }


def route(path: str, query: dict[str, str]) -> tuple[int, str | bytes, str]:
    """(status, body, content type) for a GET under /hashshop/."""
    html, js = "text/html; charset=utf-8", "application/json"
    last = path.rsplit("/", 1)[-1]
    if path == "/hashshop/":
        return 200, INDEX_HTML, html
    if path == "/hashshop/item.html":
        return 200, ITEM_HTML, html
    if path == "/hashshop/api/products":
        page = query.get("page", "1")
        return 200, json.dumps(products_page(int(page) if page.isdigit() else 1)), js
    if path.startswith("/hashshop/api/products/") and last.isdigit() and 1 <= int(last) <= COUNT:
        return 200, json.dumps(product_json(PRODUCTS[int(last) - 1]), ensure_ascii=False), js
    if path.startswith("/hashshop/img/") and last.removesuffix(".jpg").replace("-", "").isdigit():
        return 200, product_png(f"hashshop/{last}"), "image/png"
    if path.startswith("/hashshop/api/"):
        return 404, json.dumps({"error": "not found"}), js
    return 404, f"<h1>Not found</h1><p>{escape(path)}</p>", html
