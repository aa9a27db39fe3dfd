//! # greenledger-interop
//!
//! Mappings between greenledger's attestations and other footprint formats, with no I/O. They
//! are interop, not ledger rules: what an imported document becomes is an ordinary
//! [`Attestation`](greenledger_core::Attestation), signed and checked by `greenledger-core`'s
//! rules like any other, and an export is computed from a signed entry. `docs/PACT.md`
//! describes the mappings for people.
//!
//! # Layout
//!
//! * [`pact`] — PACT v3 ProductFootprint import and export.
//! * [`catenax`] — Catena-X PCF 9.x import and export, as a mapping to and from PACT v3.
//! * [`epcis`] — GS1 EPCIS 2.0 TransformationEvent import; TransformationEvent and shipping
//!   ObjectEvent export (`docs/EPCIS.md`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod catenax;
pub mod epcis;
pub mod pact;
