//! greenledger-node (under construction)
