{% for line in header -%}
//{% if !line.is_empty() %} {% endif %}{{ line }}
{% endfor %}
//! Stencils for `{{ target }}`.

use runtime::{ {{- imports -}} };
use runtime::emit::generated::{ {{- emit_imports -}} };

/// Uop ids: indices into `TABLE.uops` and `TABLE.info`.
pub mod uop {
{%- for uop in uops %}
    pub const {{ uop.const_name }}: u16 = {{ uop.id }};
{%- endfor %}
}

/// The stencil table of `{{ target }}`.
pub static TABLE: StencilTable = StencilTable {
    target: "{{ target }}",
    arch: Arch::{{ arch }},
    llvm_version: "{{ llvm_version }}",
    code_align: {{ code_align }},
    shim: Stencil {
        code: {{ shim.code_ref }},
        code_holes: {{ shim.code_holes_ref }},
        data: {{ shim.data_ref }},
        data_holes: {{ shim.data_holes_ref }},
        data_align: {{ shim.data_align }},
    },
    cache: {{ cache }},
    uops: &UOPS,
    info: &INFO,
    symbols: &[{{ symbols }}],
    op_values: &[{{ op_values }}],
    trace_values: &[{{ trace_values }}],
    emitters: Some(&EMITTERS),
};

/// The stencils' generated emit functions, indexed as `TABLE.uops`.
static EMITTERS: Emitters = Emitters {
    shim: {{ shim.emit_fn }},
    uops: &[
{%- for uop in uops %}
{%- for stencil in uop.variants %}
        {{ stencil.emit_fn }},
{%- endfor %}
{%- endfor %}
    ],
};

static UOPS: [Stencil; {{ stencil_count }}] = [
{%- for uop in uops %}
{%- for stencil in uop.variants %}
    // {{ stencil.title }}
    Stencil {
        code: {{ stencil.code_ref }},
        code_holes: {{ stencil.code_holes_ref }},
        data: {{ stencil.data_ref }},
        data_holes: {{ stencil.data_holes_ref }},
        data_align: {{ stencil.data_align }},
    },
{%- endfor %}
{%- endfor %}
];

static INFO: [UopInfo; {{ uops.len() }}] = [
{%- for uop in uops %}
    UopInfo {
        name: "{{ uop.name }}",
        inputs: &[{{ uop.inputs }}],
        outputs: &[{{ uop.outputs }}],
        uses: &[{{ uop.uses }}],
        helpers: &[{{ uop.helpers }}],
    },
{%- endfor %}
];
{% for stencil in stencils %}
// ---- {{ stencil.title }} ----
{%- for line in stencil.comment %}
//{% if !line.is_empty() %} {% endif %}{{ line }}
{%- endfor %}
{%- if !stencil.code.is_empty() %}
{%- for line in stencil.disassembly %}
// {{ line }}
{%- endfor %}
static {{ stencil.ident }}_CODE: [u8; {{ stencil.code_len }}] = [
{%- for line in stencil.code %}
    {{ line }}
{%- endfor %}
];
{%- endif %}
{%- if !stencil.code_holes.is_empty() %}
static {{ stencil.ident }}_CODE_HOLES: [Hole; {{ stencil.code_holes.len() }}] = [
{%- for hole in stencil.code_holes %}
    {{ hole }}
{%- endfor %}
];
{%- endif %}
{%- if !stencil.data.is_empty() %}
static {{ stencil.ident }}_DATA: [u8; {{ stencil.data_len }}] = [
{%- for line in stencil.data %}
    {{ line }}
{%- endfor %}
];
{%- endif %}
{%- if !stencil.data_holes.is_empty() %}
static {{ stencil.ident }}_DATA_HOLES: [Hole; {{ stencil.data_holes.len() }}] = [
{%- for hole in stencil.data_holes %}
    {{ hole }}
{%- endfor %}
];
{%- endif %}
fn {{ stencil.emit_fn }}(code: &mut [u8], data: &mut [u8], {{ stencil.emit_param }}: &Place<'_>) -> bool {
{%- for line in stencil.emit_body %}
    {{ line }}
{%- endfor %}
}
{% endfor %}
