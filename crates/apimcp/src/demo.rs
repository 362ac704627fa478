//! The bundled items API (FastAPI-MCP's example app): `list_items`, `get_item`,
//! `create_item`, `update_item`, `delete_item` and `search_items` over an in-memory store
//! seeded with a few items. Routes and OpenAPI document come from the same code through
//! utoipa's `OpenApiRouter`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// An item in the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    /// The item's id.
    pub id: i64,
    /// The item's name.
    pub name: String,
    /// What it is.
    pub description: Option<String>,
    /// Its price.
    pub price: f64,
    /// Tags for search.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The store, shared by the handlers.
#[derive(Clone, Debug)]
pub struct Store(Arc<RwLock<BTreeMap<i64, Item>>>);

impl Store {
    /// The five seed items.
    pub fn seeded() -> Self {
        let seed = [
            (
                1,
                "Hammer",
                "A tool for hammering nails",
                9.99,
                &["tool", "hardware"][..],
            ),
            (
                2,
                "Screwdriver",
                "A tool for driving screws",
                7.99,
                &["tool", "hardware"],
            ),
            (3, "Wrench", "A tool for tightening bolts", 12.99, &["tool", "hardware"]),
            (
                4,
                "Saw",
                "A tool for cutting wood",
                19.99,
                &["tool", "hardware", "cutting"],
            ),
            (
                5,
                "Drill",
                "A tool for drilling holes",
                49.99,
                &["tool", "hardware", "power"],
            ),
        ];
        let items = seed
            .into_iter()
            .map(|(id, name, description, price, tags)| {
                let item = Item {
                    id,
                    name: name.into(),
                    description: Some(description.into()),
                    price,
                    tags: tags.iter().map(|t| (*t).into()).collect(),
                };
                (id, item)
            })
            .collect();
        Self(Arc::new(RwLock::new(items)))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<i64, Item>> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<i64, Item>> {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(OpenApi)]
#[openapi(info(
    title = "Item API",
    version = "1.0.0",
    description = "A simple API for managing items"
))]
struct ApiDoc;

/// The items API's router and its OpenAPI document (3.1), from the same route definitions.
pub fn app() -> (Router, utoipa::openapi::OpenApi) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_items, create_item))
        .routes(routes!(search_items))
        .routes(routes!(get_item, update_item, delete_item))
        .with_state(Store::seeded())
        .split_for_parts();
    (router, api)
}

/// An error body, as FastAPI writes them.
#[derive(Serialize, ToSchema)]
struct Detail {
    detail: String,
}

fn not_found() -> Response {
    let body = Detail {
        detail: "Item not found".into(),
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Page {
    /// Items to skip.
    #[param(default = 0, minimum = 0)]
    skip: Option<usize>,
    /// Items to return at most.
    #[param(default = 10, minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// List items
///
/// List all items with pagination.
#[utoipa::path(get, path = "/items", operation_id = "list_items", tag = "items", params(Page),
    responses((status = 200, description = "The items", body = Vec<Item>)))]
async fn list_items(State(store): State<Store>, Query(page): Query<Page>) -> Json<Vec<Item>> {
    let skip = page.skip.unwrap_or(0);
    let limit = page.limit.unwrap_or(10);
    Json(store.read().values().skip(skip).take(limit).cloned().collect())
}

/// Get item
///
/// Get a specific item by its ID.
#[utoipa::path(get, path = "/items/{item_id}", operation_id = "get_item", tag = "items",
    params(("item_id" = i64, Path, description = "The ID of the item to retrieve")),
    responses((status = 200, description = "The item", body = Item), (status = 404, description = "Item not found", body = Detail)))]
async fn get_item(State(store): State<Store>, Path(item_id): Path<i64>) -> Response {
    match store.read().get(&item_id) {
        Some(item) => Json(item.clone()).into_response(),
        None => not_found(),
    }
}

/// Create item
///
/// Create a new item; the id must not be in use.
#[utoipa::path(post, path = "/items", operation_id = "create_item", tag = "items", request_body = Item,
    responses((status = 200, description = "The created item", body = Item), (status = 409, description = "The id is taken", body = Detail)))]
async fn create_item(State(store): State<Store>, Json(item): Json<Item>) -> Response {
    let mut items = store.write();
    if items.contains_key(&item.id) {
        let body = Detail {
            detail: format!("Item {} already exists", item.id),
        };
        return (StatusCode::CONFLICT, Json(body)).into_response();
    }
    items.insert(item.id, item.clone());
    Json(item).into_response()
}

/// Update item
///
/// Replace an existing item.
#[utoipa::path(put, path = "/items/{item_id}", operation_id = "update_item", tag = "items",
    params(("item_id" = i64, Path, description = "The ID of the item to update")), request_body = Item,
    responses((status = 200, description = "The updated item", body = Item), (status = 404, description = "Item not found", body = Detail)))]
async fn update_item(State(store): State<Store>, Path(item_id): Path<i64>, Json(mut item): Json<Item>) -> Response {
    let mut items = store.write();
    let Some(slot) = items.get_mut(&item_id) else {
        return not_found();
    };
    item.id = item_id;
    *slot = item.clone();
    Json(item).into_response()
}

/// A confirmation.
#[derive(Serialize, ToSchema)]
struct Message {
    message: String,
}

/// Delete item
///
/// Delete an item by its ID.
#[utoipa::path(delete, path = "/items/{item_id}", operation_id = "delete_item", tag = "items",
    params(("item_id" = i64, Path, description = "The ID of the item to delete")),
    responses((status = 200, description = "Deleted", body = Message), (status = 404, description = "Item not found", body = Detail)))]
async fn delete_item(State(store): State<Store>, Path(item_id): Path<i64>) -> Response {
    match store.write().remove(&item_id) {
        Some(_) => Json(Message {
            message: "Item deleted successfully".into(),
        })
        .into_response(),
        None => not_found(),
    }
}

/// The search filters (documentation only: the handler reads the raw pairs, since `tags`
/// repeats).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct Search {
    /// Text to find in the name or description.
    q: Option<String>,
    /// Lowest price.
    min_price: Option<f64>,
    /// Highest price.
    max_price: Option<f64>,
    /// Tags an item must all have.
    tags: Option<Vec<String>>,
}

/// Search items
///
/// Search items by text, price range and tags.
#[utoipa::path(get, path = "/items/search", operation_id = "search_items", tag = "search", params(Search),
    responses((status = 200, description = "The matching items", body = Vec<Item>), (status = 422, description = "A filter is not a number", body = Detail)))]
async fn search_items(State(store): State<Store>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let mut q = None;
    let mut tags = Vec::new();
    let (mut min, mut max) = (f64::NEG_INFINITY, f64::INFINITY);
    for (key, value) in pairs {
        let number = || value.parse::<f64>().map_err(|_| format!("{key} must be a number"));
        let parsed = match key.as_str() {
            "q" => {
                let _: () = q = Some(value.to_lowercase());
                Ok(())
            }
            "min_price" => number().map(|n| min = n),
            "max_price" => number().map(|n| max = n),
            "tags" => {
                let _: () = tags.push(value);
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(detail) = parsed {
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(Detail { detail })).into_response();
        }
    }
    let found: Vec<Item> = store
        .read()
        .values()
        .filter(|item| {
            let text = format!("{} {}", item.name, item.description.as_deref().unwrap_or("")).to_lowercase();
            q.as_ref().is_none_or(|q| text.contains(q))
                && item.price >= min
                && item.price <= max
                && tags.iter().all(|t| item.tags.contains(t))
        })
        .cloned()
        .collect();
    Json(found).into_response()
}
