import AccessLogFormat

/// Every key of one counter, over one dense id space, whatever field grouped it.
///
/// Each input is grouped by the first field of the group order its format has, so one counter
/// may hold keys of several fields: a ``KeyLookup`` (an interner) each, and ids that the flag
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
    private var fields: [KeyLookup] = []
    /// Per id: its field's index in `fields` and its id in that field's interner.
    private var owners: [(field: Int, local: UInt32)] = []

    init(tokenizer: LineTokenizer, maxKeys: Int, primary: FieldKind?) {
        self.tokenizer = tokenizer
        self.maxKeys = maxKeys
        self.primary = primary
    }

    deinit {
        for field in fields {
            field.table.pointee.ids.deallocate()
            field.table.deallocate()
        }
    }

    /// Ids given so far (some may have counted nothing: a key interned on a line then refused).
    public var count: Int { owners.count }

    /// The keys of `kind`, made on first use.
    public func field(_ kind: FieldKind) -> KeyLookup {
        if let field = fields.first(where: { $0.key.kind == kind }) { return field }
        if primary == nil { primary = kind }
        let table = UnsafeMutablePointer<KeyLookup.Table>.allocate(capacity: 1)
        table.initialize(to: KeyLookup.Table())
        let field = KeyLookup(key: GroupKey(kind: kind, tokenizer: tokenizer, maxKeys: maxKeys), index: fields.count, table: table)
        fields.append(field)
        return field
    }

    /// The id of `local` in `field`, giving ids to its interner's ids up to `local` (those
    /// between were interned on lines that were then refused: they get ids too, which count
    /// nothing).
    @inline(never)
    func map(_ local: UInt32, in field: KeyLookup) -> UInt32 {
        let table = field.table, local = Int(local)
        if local >= table.pointee.capacity {
            let capacity = max(local + 1, 2 * table.pointee.capacity, 64)
            let ids = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
            ids.update(from: table.pointee.ids, count: table.pointee.mapped)
            table.pointee.ids.deallocate()
            table.pointee.ids = ids
            table.pointee.capacity = capacity
        }
        while table.pointee.mapped <= local {
            owners.append((field.index, UInt32(table.pointee.mapped)))
            table.pointee.ids[table.pointee.mapped] = UInt32(owners.count - 1)
            table.pointee.mapped += 1
        }
        return table.pointee.ids[local]
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
        return field.mapped(local) ?? map(local, in: field)
    }

    /// The field a `field:` prefix of `text` names.
    static func qualifier(of text: String) -> FieldKind? {
        FieldSet.groupKeys.kinds.first { text.hasPrefix($0.groupName + ":") }
    }
}

/// The keys of one field within a counter: its ``GroupKey`` and, per id of its interner, the
/// counter's id. A value with no reference to count, and a table in raw memory, so that the
/// per-record lookup costs neither reference counting nor exclusivity checks; its
/// ``GroupKeys`` owns the table.
public struct KeyLookup {
    struct Table {
        var ids = UnsafeMutablePointer<UInt32>.allocate(capacity: 0)
        var mapped = 0
        var capacity = 0
    }

    public let key: GroupKey
    /// Its index in its `GroupKeys`.
    let index: Int
    let table: UnsafeMutablePointer<Table>
    /// The field, as the tokenizer's intern mask.
    var interned: FieldSet { FieldSet(key.kind) }

    /// The counter's id of `local`, or nil when it has none yet (`GroupKeys.map`).
    @inline(__always)
    func mapped(_ local: UInt32) -> UInt32? {
        Int(local) < table.pointee.mapped ? table.pointee.ids[Int(local)] : nil
    }
}
