// SPDX-License-Identifier: GPL-2.0
//! Must not compile: a source on a vector of a `PciVectors<'a>` that outlives
//! the device binding its vectors belong to (the vectors are freed at unbind).
#![allow(dead_code, unused_imports)]
include!("lifetime_common.rs");

use workloop::{PciVectors, VectorEventSource};

fn make<'a>(
    vectors: &PciVectors<'a>,
) -> impl PinInit<VectorEventSource<'static, Handler>, Error> + 'a {
    VectorEventSource::new_vector(vectors, 0, c"escapes", SourceOptions::default(), Handler)
}

module! {
    type: Module,
    name: "vectors_escapes",
    authors: ["workloop"],
    description: "compile test",
    license: "GPL v2",
}
