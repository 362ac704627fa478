# FastAPI-MCP's example items app (the same API as `apimcp demo`), for the side-by-side run.
# Served by bench/run.sh with: uvicorn fastapi_items:app --workers 1
from typing import List, Optional

from fastapi import FastAPI, HTTPException, Query
from fastapi_mcp import FastApiMCP
from pydantic import BaseModel

app = FastAPI(title="Item API", version="1.0.0")


class Item(BaseModel):
    id: int
    name: str
    description: Optional[str] = None
    price: float
    tags: List[str] = []


items = {
    i: Item(id=i, name=n, description=d, price=p, tags=t)
    for i, n, d, p, t in [
        (1, "Hammer", "A tool for hammering nails", 9.99, ["tool", "hardware"]),
        (2, "Screwdriver", "A tool for driving screws", 7.99, ["tool", "hardware"]),
        (3, "Wrench", "A tool for tightening bolts", 12.99, ["tool", "hardware"]),
        (4, "Saw", "A tool for cutting wood", 19.99, ["tool", "hardware", "cutting"]),
        (5, "Drill", "A tool for drilling holes", 49.99, ["tool", "hardware", "power"]),
    ]
}


@app.get("/items/", response_model=List[Item], tags=["items"], operation_id="list_items")
async def list_items(skip: int = 0, limit: int = 10):
    return list(items.values())[skip : skip + limit]


@app.get("/items/{item_id}", response_model=Item, tags=["items"], operation_id="get_item")
async def get_item(item_id: int):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="Item not found")
    return items[item_id]


@app.get("/items/search/", response_model=List[Item], tags=["search"], operation_id="search_items")
async def search_items(q: Optional[str] = None, min_price: Optional[float] = None, max_price: Optional[float] = None, tags: List[str] = Query([])):
    found = list(items.values())
    if q:
        found = [i for i in found if q.lower() in i.name.lower() or (i.description and q.lower() in i.description.lower())]
    if min_price is not None:
        found = [i for i in found if i.price >= min_price]
    if max_price is not None:
        found = [i for i in found if i.price <= max_price]
    if tags:
        found = [i for i in found if all(t in i.tags for t in tags)]
    return found


mcp = FastApiMCP(app, name="Item API MCP")
mcp.mount_http()
