// SPDX-License-Identifier: GPL-2.0
//! Must compile: a source on a vector of `PciVectors<'a>` lives for `'a` (the
//! control case of `vectors_escapes.rs`).
#![allow(dead_code, unused_imports)]
include!("lifetime_common.rs");

use workloop::{PciVectors, VectorEventSource};

fn make<'a>(vectors: &PciVectors<'a>) -> impl PinInit<VectorEventSource<'a, Handler>, Error> + 'a {
    VectorEventSource::new_vector(vectors, 0, c"ok", SourceOptions::default(), Handler)
}

module! {
    type: Module,
    name: "vectors_ok",
    authors: ["workloop"],
    description: "compile test",
    license: "GPL v2",
}
