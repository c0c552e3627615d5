import AccessLogFormat

/// Every key of one counter, over one dense id space, whatever field grouped it.
///
/// Each input is grouped by the first field of the group order its format has, so one counter
/// may hold keys of several fields: a ``KeyField`` (an interner) each, and ids that the flag
/// counter and the windows share. Names must not collide across fields (`example.com` may be a
/// cluster and an authority; `-` is in every field), so a key of the primary field is named by
/// its value and a key of another field `field:value` (`authority:example.com`,
/// `authority:-`); so is a primary value that itself starts with such a prefix. Names are one
/// to one with (field, value), and ``id(named:)`` reads them back.
public final class GroupKeys {
    /// The field whose keys keep their values as names: the configured one, else the first
    /// field an input was grouped by.
    public private(set) var primary: FieldKind?
    private let tokenizer: LineTokenizer
    private let maxKeys: Int
    private var fields: [KeyField] = []
    /// Per id: its field's index in `fields` and its id in that field's interner.
    private var owners: [(field: Int, local: UInt32)] = []

    init(tokenizer: LineTokenizer, maxKeys: Int, primary: FieldKind?) {
        self.tokenizer = tokenizer
        self.maxKeys = maxKeys
        self.primary = primary
    }

    /// Ids given so far (some may have counted nothing: a key interned on a line then refused).
    public var count: Int { owners.count }

    /// The keys of `kind`, made on first use.
    public func field(_ kind: FieldKind) -> KeyField {
        if let field = fields.first(where: { $0.key.kind == kind }) { return field }
        if primary == nil { primary = kind }
        let field = KeyField(GroupKey(kind: kind, tokenizer: tokenizer, maxKeys: maxKeys), index: fields.count, keys: self)
        fields.append(field)
        return field
    }

    /// A new id for `local` of the field at `index`.
    fileprivate func add(field index: Int, local: UInt32) -> UInt32 {
        owners.append((index, local))
        return UInt32(owners.count - 1)
    }

    /// The name of key `id`.
    public func name(of id: UInt32) -> String {
        let owner = owners[Int(id)]
        let key = fields[owner.field].key
        return name(key.kind, key.interner.string(for: owner.local))
    }

    func name(_ kind: FieldKind, _ value: String) -> String {
        kind == primary && GroupKeys.qualifier(of: value) == nil ? value : kind.groupName + ":" + value
    }

    /// The id of the key named `name` (as `name(of:)` gives it), added when new: how a
    /// checkpoint's keys come back.
    public func id(named name: String) -> UInt32 {
        let (kind, value) = GroupKeys.qualifier(of: name).map { ($0, String(name.dropFirst($0.groupName.count + 1))) }
            ?? (primary ?? .upstreamCluster, name)
        let field = field(kind)
        var local = field.key.interner.intern(value)
        if local == ByteInterner.overflow { local = field.key.other }
        return field.id(local: local)
    }

    /// The field a `field:` prefix of `text` names.
    static func qualifier(of text: String) -> FieldKind? {
        FieldSet.groupKeys.kinds.first { text.hasPrefix($0.groupName + ":") }
    }
}

/// The keys of one field within a counter: its ``GroupKey`` and, per id of its interner, the
/// counter's id. The table lives in raw memory: the per-record lookup needs no exclusivity check.
public final class KeyField {
    public let key: GroupKey
    /// The field, as the tokenizer's intern mask.
    let interned: FieldSet
    private let index: Int
    private unowned(unsafe) let keys: GroupKeys
    private struct Table {
        var ids = UnsafeMutablePointer<UInt32>.allocate(capacity: 0)
        var mapped = 0
        var capacity = 0
    }
    private let table = UnsafeMutablePointer<Table>.allocate(capacity: 1)

    fileprivate init(_ key: GroupKey, index: Int, keys: GroupKeys) {
        self.key = key
        interned = FieldSet(key.kind)
        self.index = index
        self.keys = keys
        table.initialize(to: Table())
    }

    deinit {
        table.pointee.ids.deallocate()
        table.deallocate()
    }

    /// The counter's id of `record`'s key; counts in `overflowed` a record past the key cap.
    @inline(__always)
    func id(of record: AccessRecord, overflowed: inout Int) -> UInt32 {
        id(local: key.id(of: record, overflowed: &overflowed))
    }

    @inline(__always)
    func id(local: UInt32) -> UInt32 {
        let local = Int(local)
        if local >= table.pointee.mapped { map(through: local) }
        return table.pointee.ids[local]
    }

    /// Gives ids to the interner's ids up to `local` (those between were interned on lines
    /// that were then refused: they get ids too, which count nothing).
    @inline(never)
    private func map(through local: Int) {
        if local >= table.pointee.capacity {
            let capacity = max(local + 1, 2 * table.pointee.capacity, 64)
            let ids = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
            ids.update(from: table.pointee.ids, count: table.pointee.mapped)
            table.pointee.ids.deallocate()
            table.pointee.ids = ids
            table.pointee.capacity = capacity
        }
        for next in table.pointee.mapped...local {
            table.pointee.ids[next] = keys.add(field: index, local: UInt32(next))
        }
        table.pointee.mapped = local + 1
    }
}
