//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, built from the route table in `routes`
//! (the same table that registers the routes, so a route cannot exist undocumented) and the wire
//! types' schemas (`jam-protocol` with its `openapi` feature).

use std::collections::BTreeMap;

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, Schema,
};
use utoipa::{PartialSchema, ToSchema};

/// Schemas a route needs, collected into the document's components.
pub type Components = Vec<(String, RefOr<Schema>)>;
/// Registers a type's schema (and those it refers to) and returns a reference to it.
pub type SchemaFn = fn(&mut Components) -> RefOr<Schema>;

/// One documented route under `/api/v1`.
pub struct RouteDoc {
    /// Lower-case HTTP method as in `actix_web::web::{get, post, …}`.
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Who may call it (the authorization matrix test checks the handlers keep to this).
    pub who: &'static str,
    /// Status of a successful answer.
    pub status: u16,
    /// Query parameters, by name.
    pub query: &'static [&'static str],
    pub request: Option<SchemaFn>,
    pub response: Option<SchemaFn>,
}

/// `SchemaFn` for a wire type.
pub fn schema<T: ToSchema>(components: &mut Components) -> RefOr<Schema> {
    T::schemas(components);
    components.push((T::name().into_owned(), T::schema()));
    Ref::from_schema_name(T::name()).into()
}

/// `SchemaFn` for `Page<T>`: registers `T` too, which the generic's own schema only refers to.
/// utoipa names every `Page<T>` plain "Page"; each gets its own name here (`PageOfIdeaView`).
pub fn page<T: ToSchema>(components: &mut Components) -> RefOr<Schema> {
    schema::<T>(components);
    let name = format!("PageOf{}", T::name());
    components.push((
        name.clone(),
        <jam_protocol::api::Page<T> as PartialSchema>::schema(),
    ));
    Ref::from_schema_name(name).into()
}

fn method_of(name: &str) -> HttpMethod {
    match name {
        "post" => HttpMethod::Post,
        "put" => HttpMethod::Put,
        "patch" => HttpMethod::Patch,
        "delete" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// A query parameter's name and schema from its entry in the route table: `name` is text (absent
/// rather than empty), `name?` text that may be empty, `name=a|b|c` one of those words,
/// `name=MIN..MAX` an integer in that range, `name=time` an RFC 3339 time; `limit` alone is a page
/// size (1 to `limits.page_max`, 200 by default) and `cursor` the id a previous page named.
fn query_param(entry: &'static str) -> (&'static str, RefOr<Schema>) {
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
    let builder = utoipa::openapi::ObjectBuilder::new();
    let integer = |min: i64, max: i64| -> RefOr<Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min))
            .maximum(Some(max))
            .into()
    };
    if let Some(name) = entry.strip_suffix('?') {
        return (name, builder.schema_type(Type::String).into());
    }
    if let Some((name, kind)) = entry.split_once('=') {
        if kind == "time" {
            let time = builder
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
            return (name, time.into());
        }
        if let Some((min, max)) = kind.split_once("..")
            && let (Ok(min), Ok(max)) = (min.parse(), max.parse())
        {
            return (name, integer(min, max));
        }
        let words = kind.split('|').map(serde_json::Value::from);
        return (
            name,
            builder.schema_type(Type::String).enum_values(Some(words)).into(),
        );
    }
    let schema = match entry {
        "limit" => integer(1, 200),
        "cursor" => builder
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into(),
        _ => builder.schema_type(Type::String).min_length(Some(1)).into(),
    };
    (entry, schema)
}

fn content(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// The whole document for the given routes.
pub fn document(routes: &[RouteDoc]) -> OpenApi {
    let mut components: Components = Vec::new();
    let problem = schema::<jam_protocol::Problem>(&mut components);
    let mut items: BTreeMap<String, PathItemBuilder> = BTreeMap::new();
    for route in routes {
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary))
            .description(Some(format!("Who: {}.", route.who)))
            .operation_id(Some(format!(
                "{}_{}",
                route.method,
                route.path.replace(['/', '{', '}'], "_")
            )));
        for name in route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(String::schema())),
            );
        }
        for entry in route.query {
            let (name, schema) = query_param(entry);
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .schema(Some(schema)),
            );
        }
        // Routes anyone may call need no sign-in.
        if route.who.starts_with("anyone") {
            op = op.securities(Some(Vec::<SecurityRequirement>::new()));
        }
        if let Some(request) = route.request {
            let body = RequestBodyBuilder::new()
                .content("application/json", content(request(&mut components)))
                .required(Some(Required::True));
            op = op.request_body(Some(body.build()));
        }
        let mut ok = ResponseBuilder::new().description("Success");
        if let Some(response) = route.response {
            ok = ok.content("application/json", content(response(&mut components)));
        }
        op = op.response(route.status.to_string(), ok.build()).response(
            "default",
            ResponseBuilder::new()
                .description("An error, as RFC 9457 problem details (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)")
                .content("application/problem+json", content(problem.clone()))
                .build(),
        );
        let path = format!("/api/v1{}", route.path);
        let item = items.remove(&path).unwrap_or_default();
        items.insert(path, item.operation(method_of(route.method), op.build()));
    }
    let mut paths = PathsBuilder::new();
    for (path, item) in items {
        paths = paths.path(path, item.build());
    }
    let mut schemas = ComponentsBuilder::new().security_scheme(
        "session_cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("jam_session"))),
    );
    for (name, s) in components {
        schemas = schemas.schema(name, s);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("OpenJam API")
                .version("1")
                .description(Some("The HTTP contract of OpenJam (shared/spec/api.md). The live protocol is at /api/v1/live (WebSocket).")),
        )
        .paths(paths.build())
        .components(Some(schemas.build()))
        .security(Some(vec![SecurityRequirement::new("session_cookie", Vec::<String>::new())]))
        .build()
}
