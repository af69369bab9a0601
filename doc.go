// Package waarborg is the domain of waarborg: evidence records, their
// validation and content hash, the ledger leaf, and the contracts (Store,
// error kinds) that adapters implement.
//
// It imports no storage, transport or OT library; every other package of the
// module may import it, and it imports none of them but jcs.
package waarborg
