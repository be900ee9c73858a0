#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

extension Policy {
    /// The same grants in a canonical form: member spellings normalised (emails lower-cased),
    /// duplicates removed, bindings with the same role and condition merged, empty bindings
    /// dropped, everything sorted. Storage and etags use this form.
    public func normalized() -> Policy {
        struct Key: Hashable { let role: String; let condition: Condition? }
        var merged: [Key: Set<String>] = [:]
        for binding in bindings {
            let key = Key(role: binding.role, condition: binding.condition)
            let members = binding.members.map { (try? Principal(parsing: $0))?.description ?? $0 }
            merged[key, default: []].formUnion(members)
        }
        let sorted = merged
            .filter { !$0.value.isEmpty }
            .map { Binding(role: $0.key.role, members: $0.value.sorted(), condition: $0.key.condition) }
            .sorted(by: Policy.bindingOrder)
        return Policy(version: version, etag: etag, bindings: sorted)
    }

    static func bindingOrder(_ a: Binding, _ b: Binding) -> Bool {
        if a.role != b.role { return a.role < b.role }
        switch (a.condition, b.condition) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case let (x?, y?):
            if x.expression != y.expression { return x.expression < y.expression }
            if (x.title ?? "") != (y.title ?? "") { return (x.title ?? "") < (y.title ?? "") }
            return (x.description ?? "") < (y.description ?? "")
        }
    }

    /// A base64 hash of the canonical bindings, in the style of Google's etags. Equal grants
    /// give equal etags, so a read-modify-write against a changed policy is detected.
    public func computedEtag() -> String {
        let canonical = normalized().bindings
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and arrays cannot fail.
        let data = (try? encoder.encode(canonical)) ?? Data()
        let digest = SHA256.hash(data: data)
        return Data(digest.prefix(8)).base64EncodedString()
    }

    /// The normalised policy with its etag set, as `getIamPolicy` returns it.
    public func withComputedEtag() -> Policy {
        var p = normalized()
        p.etag = p.computedEtag()
        return p
    }

    /// Checks an incoming policy's etag against the current policy: a client that read an
    /// older policy must not overwrite newer grants. A missing etag means "overwrite", as
    /// in Google's API.
    public func checkEtag(against current: Policy) throws(PolicyError) {
        guard let etag, !etag.isEmpty else { return }
        if etag != current.computedEtag() { throw PolicyError.etagMismatch }
    }
}
