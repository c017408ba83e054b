//! The per-network DNS responder: answers container names and aliases of one network and
//! forwards every other name to the host's resolvers.
