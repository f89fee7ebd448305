// Package state is Brine's configuration engine: it compiles SLS files into
// high data (include, extend, exclude, ID declarations), flattens high data
// into ordered low chunks (name/names, definition order as Salt's
// state_auto_order, order: N|first|last), resolves requisites (require,
// watch, onchanges, onfail, prereq, listen, use and their _in forms) into a
// run graph, and executes it, returning Salt's result structure keyed
// "<mod>_|-<id>_|-<name>_|-<fun>".
//
// The package promises Salt's semantics for what it implements: a state
// tree that works with salt-call applies unchanged, and a second run of a
// converged tree reports no changes. test=True reaches every state function,
// which then reports result None with the changes it would make and changes
// nothing. Cycles and references to missing states are compile errors that
// name both ends.
//
// Rendering, file fetching, top-file matching and calls to execution
// functions are behind small interfaces (Renderer, FileClient, TopMatcher,
// Caller) that the minion wires; YAMLRenderer and DirFiles are plain
// implementations used by tests and by "#!yaml" trees.
package state
