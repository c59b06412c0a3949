import AuditPlumbing
/// Notes that sign the same text, merged into one (C2SP signed-note): a
/// witness answers with its own cosignature lines only, so each witness's
/// answer is a note of its own — in /.audit/cosignatures one block each, in
/// witnesses' files one note each. A quorum of N witnesses needs their lines
/// on one note: `merge` puts every distinct signature line of notes with the
/// same text, in the order first seen, under that text — one line per key, at
/// most `SignedNote.maxSignatures`.
public enum CosignedNotes {
    /// `notes` (source, note) with those of equal text merged, in the order
    /// each text first appears; the source of a merged note names every
    /// source joined by " + ". A note that does not parse is kept as it is
    /// (its checker names it).
    public static func merge(_ notes: [(String, String)]) -> [(String, String)] {
        var slots: [(source: String, note: String?, text: String?)] = []   // a note kept as it is, or a text to merge under
        var merged: [String: (sources: [String], lines: [String])] = [:]
        for (source, note) in notes {
            guard (try? SignedNote.parse(note)) != nil, let split = note.range(of: "\n\n", options: .backwards) else {
                slots.append((source, note, nil))
                continue
            }
            let text = String(note[..<split.lowerBound]) + "\n"
            if merged[text] == nil { slots.append((source, nil, text)); merged[text] = ([], []) }
            merged[text]!.sources.append(source)
            for line in note[split.upperBound...].split(separator: "\n").map(String.init) {
                // One line per key (name and key id): a witness that cosigned the same checkpoint twice
                // (a retry) has two lines with other timestamps, and a note with both does not parse.
                let key = Self.key(of: line)
                guard merged[text]!.lines.count < SignedNote.maxSignatures, !merged[text]!.lines.contains(where: { Self.key(of: $0) == key }) else { continue }
                merged[text]!.lines.append(line)
            }
        }
        return slots.map { slot in
            guard let text = slot.text, let m = merged[text] else { return (slot.source, slot.note ?? "") }
            return (m.sources.joined(separator: " + "), text + "\n" + m.lines.map { $0 + "\n" }.joined())
        }
    }

    /// A signature line's key: its name and the 4-byte key id its base64 starts with.
    static func key(of line: String) -> String {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let bytes = Base64.decode(parts[2]), bytes.count >= 4 else { return line }
        return String(parts[1]) + "+" + Hex.encode(Array(bytes[0..<4]))
    }

    /// The size a checkpoint note names (its second line), if it has one.
    public static func size(of note: String) -> UInt64? {
        note.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().first.flatMap { UInt64($0) }
    }
}
