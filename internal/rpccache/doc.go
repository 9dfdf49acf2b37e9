// Package rpccache is the Go form of the brief's @lru_cache decorator: a
// Connect interceptor that caches the responses of RPCs the proto declares
// side-effect free (`option idempotency_level = NO_SIDE_EFFECTS`) and opts in
// with `option (spartan.v1.cache) = {...}`. It reads those options from the
// service descriptors once, at start-up; nothing is decided per handler.
//
// A cached response is served only while no write has made it stale: the
// chat core reports, after every committed write, the users it involved
// (Versions.Bump), and every entry remembers the version of its caller it
// was computed at.
package rpccache
