{% for line in header -%}
//{% if !line.is_empty() %} {% endif %}{{ line }}
{% endfor %}
//! Committed stencil tables, one module per target, written by
//! `cargo xtask gen-stencils`.
#![no_std]

use runtime::StencilTable;
{% for target in targets %}
#[rustfmt::skip]
pub mod {{ target.module }};
{%- endfor %}

/// The stencil table of every target.
pub static TABLES: &[&StencilTable] = &[
{%- for target in targets %}
    &{{ target.module }}::TABLE,
{%- endfor %}
];

/// The stencil table of a target, by short name (`aarch64`) or triple.
pub fn table(name: &str) -> Option<&'static StencilTable> {
    match name {
{%- for target in targets %}
        "{{ target.short }}" | "{{ target.triple }}" => Some(&{{ target.module }}::TABLE),
{%- endfor %}
        _ => None,
    }
}

/// The stencil table of the machine this crate is built for, if it is a
/// target.
pub fn host_table() -> Option<&'static StencilTable> {
    HOST.and_then(table)
}
{% for target in targets %}
#[cfg({{ target.cfg }})]
const HOST: Option<&str> = Some("{{ target.triple }}");
{%- endfor %}
#[cfg(not(any(
{%- for target in targets %}
    {{ target.cfg }},
{%- endfor %}
)))]
const HOST: Option<&str> = None;
