/// What a node of the namespace is. A record's kind (`Record.Kind`) also
/// names appends and attribute changes, which are records about a node, not
/// nodes; a node is only ever made by a create record of its kind. The raw
/// values are those of the creating record's kind (FORMAT.md "Index snapshot" stores
/// a node's kind as that byte).
public enum NodeKind: UInt8, Sendable, CaseIterable {
    case directory = 1
    case file = 2

    /// The kind of node a record of `kind` creates; nil for the records
    /// that create none.
    public init?(creating kind: Record.Kind) {
        switch kind {
        case .directory: self = .directory
        case .file: self = .file
        case .append, .attributes, .rename: return nil
        }
    }

    /// The kind of the record that creates a node of this kind.
    public var creatingRecord: Record.Kind {
        switch self {
        case .directory: .directory
        case .file: .file
        }
    }
}
