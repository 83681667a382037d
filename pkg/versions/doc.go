// Package versions finds the version a pin should move to: the newest semver tag within a constraint (where "~> 1.1" is read as "~1.1", >=1.1.0 <1.2.0), or the digest a mutable tag such as "test" points to.
package versions
