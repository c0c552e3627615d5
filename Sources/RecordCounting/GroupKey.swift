import AccessLogFormat

/// One field records are counted under, and the two names every such field holds: `-` for
/// records without the field (as Envoy prints a missing value) and `__other__` for records past
/// the key cap. Shared by `scan` and `tail`, so both name keys the same way; a counter holds one
/// per field its inputs are grouped by (`GroupKeys`).
public struct GroupKey {
    public let kind: FieldKind
    /// The tokenizer's interner for `kind`; unowned so that passing a key on the per-line
    /// path costs no reference counting (the tokenizer outlives every use).
    public unowned(unsafe) let interner: ByteInterner
    let missing: UInt32
    let other: UInt32
    package static let missingName = "-"
    package static let otherName = "__other__"
    /// Bytes of a key kept (see `ByteInterner.maxKeyLength`): far above any real cluster,
    /// authority (a host name is at most 253 bytes), host or route name, and small enough that
    /// the key cap bounds memory, checkpoints and scrapes whatever length clients send.
    public static let maxKeyLength = 512

    /// Keys of `kind` in `tokenizer`'s interner for it, at most `maxKeys` of them.
    public init(kind: FieldKind, tokenizer: LineTokenizer, maxKeys: Int) {
        self.kind = kind
        interner = tokenizer.interner(for: kind)!
        missing = interner.intern(GroupKey.missingName)
        other = interner.intern(GroupKey.otherName)
        interner.limit = max(maxKeys, 2)
        interner.maxKeyLength = GroupKey.maxKeyLength
    }

    /// The id of `record`'s key in `interner`; counts in `overflowed` a record whose key did
    /// not fit the cap.
    @inline(__always)
    public func id(of record: AccessRecord, overflowed: inout Int) -> UInt32 {
        let id = record.key(kind)
        guard id >= ByteInterner.overflow else { return id }
        if id == ByteInterner.overflow {
            overflowed &+= 1
            return other
        }
        return missing
    }
}

extension FieldKind {
    /// The name `--group-by` takes and reports print.
    public var groupName: String {
        switch self {
        case .upstreamCluster: return "cluster"
        case .authority: return "authority"
        case .upstreamHost: return "upstream-host"
        case .route: return "route"
        default: return "\(self)"
        }
    }

    /// The field named `groupName` (`cluster`, `authority`, `upstream-host`, `route`).
    public init?(groupName: String) {
        guard let kind = [FieldKind.upstreamCluster, .authority, .upstreamHost, .route].first(where: { $0.groupName == groupName })
        else { return nil }
        self = kind
    }
}
