/// A strict reader for the subset of XML 1.0 that S3 answers use, into `S3XML.Node`.
/// Iterative (no recursion), bounded, and total: any input gives a tree or an
/// `XMLReader.Failure`, never a trap.
///
/// Accepted, in order: an optional UTF-8 byte order mark; an optional `<?xml ...?>`
/// declaration whose encoding, if named, is UTF-8; comments `<!-- -->`, processing
/// instructions `<?...?>` and whitespace; ONE root element; again comments, PIs and
/// whitespace. In elements: text, the five predefined entities (`&lt; &gt; &amp; &quot;
/// &apos;`), character references (`&#N;`, `&#xH;`) to characters XML allows,
/// `<![CDATA[...]]>`, comments, PIs, child elements; attributes `name="v"` or
/// `name='v'` (checked, then dropped). CR LF and lone CR in text become LF.
///
/// Refused: invalid UTF-8; a DOCTYPE (so no entity declarations, internal or external,
/// are ever expanded); any other `&name;`; a raw control byte other than tab, LF, CR;
/// a character reference to one (or to a surrogate, U+FFFE, U+FFFF, beyond U+10FFFF);
/// a mismatched, unclosed or missing end tag; text or a second element after the root;
/// more than `maxElements` elements, `maxDepth` levels, or `maxText` bytes of text in one element.
enum XMLReader {
    struct Failure: Error {
        var reason: String
    }

    static func parse(_ input: [UInt8], maxElements: Int, maxDepth: Int, maxText: Int) throws(Failure) -> S3XML.Node {
        var r = Reader(b: input, maxElements: maxElements, maxDepth: maxDepth, maxText: maxText)
        return try r.document()
    }

    /// An open element while its content is read.
    struct Open {
        var name: [UInt8]
        var text: [UInt8] = []
        var children: [S3XML.Node] = []
    }

    struct Reader {
        let b: [UInt8]
        let maxElements: Int
        let maxDepth: Int
        let maxText: Int
        var i = 0
        var elements = 0

        init(b: [UInt8], maxElements: Int, maxDepth: Int, maxText: Int) {
            self.b = b
            self.maxElements = maxElements
            self.maxDepth = maxDepth
            self.maxText = maxText
        }

        func fail(_ why: String) -> Failure { Failure(reason: "\(why) at byte \(i)") }

        func at(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= b.count && b[i..<(i + u.count)].elementsEqual(u)
        }

        static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d }

        static func isNameByte(_ c: UInt8, first: Bool) -> Bool {
            if c >= 0x80 { return true }
            if (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") { return true }
            if first { return false }
            return (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }

        mutating func skipSpace() { while i < b.count && Self.isSpace(b[i]) { i += 1 } }

        /// Index of `s` at or after `from`, or nil.
        func find(_ s: String, from: Int) -> Int? {
            let u = Array(s.utf8)
            var j = from
            while j + u.count <= b.count {
                if b[j] == u[0] && b[j..<(j + u.count)].elementsEqual(u) { return j }
                j += 1
            }
            return nil
        }

        mutating func document() throws(Failure) -> S3XML.Node {
            guard String(validating: b, as: UTF8.self) != nil else { throw Failure(reason: "not UTF-8") }
            if at("\u{feff}") { i += 3 }
            if at("<?xml") && i + 5 < b.count && Self.isSpace(b[i + 5]) {
                guard let end = find("?>", from: i) else { throw fail("unclosed XML declaration") }
                let decl = String(decoding: b[i..<end], as: UTF8.self).lowercased()
                if let range = decl.range(of: "encoding") {
                    let rest = decl[range.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" }
                    guard rest.hasPrefix("\"utf-8\"") || rest.hasPrefix("'utf-8'") else { throw fail("an encoding other than UTF-8") }
                }
                try checkChars(i, end)
                i = end + 2
            }
            try misc()
            guard i < b.count, b[i] == UInt8(ascii: "<") else { throw fail(i < b.count ? "text before the root element" : "no root element") }
            let root = try element()
            try misc()
            guard i == b.count else { throw fail(b[i] == UInt8(ascii: "<") ? "a second root element" : "text after the root element") }
            return root
        }

        /// Whitespace, comments and processing instructions outside the root.
        mutating func misc() throws(Failure) {
            while true {
                skipSpace()
                if at("<!--") { try comment() } else if at("<?") { try instruction() } else if at("<!") { throw fail("a DOCTYPE or declaration") } else { return }
            }
        }

        mutating func comment() throws(Failure) {
            guard let end = find("-->", from: i + 4) else { throw fail("unclosed comment") }
            try checkChars(i, end)
            i = end + 3
        }

        mutating func instruction() throws(Failure) {
            guard let end = find("?>", from: i + 2) else { throw fail("unclosed processing instruction") }
            try checkChars(i, end)
            i = end + 2
        }

        /// Refuses a raw control byte (not tab, LF, CR) in b[from..<to].
        func checkChars(_ from: Int, _ to: Int) throws(Failure) {
            for j in from..<to where b[j] < 0x20 && !Self.isSpace(b[j]) {
                throw Failure(reason: "a control character at byte \(j)")
            }
        }

        mutating func name() throws(Failure) -> [UInt8] {
            let start = i
            guard i < b.count, Self.isNameByte(b[i], first: true) else { throw fail("a bad name") }
            i += 1
            while i < b.count && Self.isNameByte(b[i], first: false) { i += 1 }
            return Array(b[start..<i])
        }

        /// A start tag at `<`: its name, and whether it closed itself (`/>`).
        mutating func startTag() throws(Failure) -> (name: [UInt8], empty: Bool) {
            i += 1
            let n = try name()
            while true {
                let hadSpace = i < b.count && Self.isSpace(b[i])
                skipSpace()
                guard i < b.count else { throw fail("unclosed start tag") }
                if b[i] == UInt8(ascii: ">") { i += 1; return (n, false) }
                if at("/>") { i += 2; return (n, true) }
                guard hadSpace else { throw fail("no space before an attribute") }
                _ = try name()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "=") else { throw fail("an attribute without '='") }
                i += 1
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else { throw fail("an unquoted attribute value") }
                let quote = b[i]
                i += 1
                while i < b.count && b[i] != quote {
                    if b[i] == UInt8(ascii: "<") { throw fail("'<' in an attribute value") }
                    if b[i] == UInt8(ascii: "&") { var sink: [UInt8] = []; try reference(into: &sink); continue }
                    if b[i] < 0x20 && !Self.isSpace(b[i]) { throw fail("a control character") }
                    i += 1
                }
                guard i < b.count else { throw fail("unclosed attribute value") }
                i += 1
            }
        }

        /// A reference at `&`, its UTF-8 appended to `out`.
        mutating func reference(into out: inout [UInt8]) throws(Failure) {
            var semi = i + 1
            while semi < b.count && semi - i <= 12 && b[semi] != UInt8(ascii: ";") { semi += 1 }
            guard semi < b.count, b[semi] == UInt8(ascii: ";") else { throw fail("an unterminated reference") }
            let body = String(decoding: b[(i + 1)..<semi], as: UTF8.self)
            var scalar: Unicode.Scalar?
            switch body {
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "amp": scalar = "&"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                var value: UInt32?
                if body.hasPrefix("#x") {
                    let digits = body.dropFirst(2)
                    if !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isHexDigit && $0.isASCII }) { value = UInt32(digits, radix: 16) }
                } else if body.hasPrefix("#") {
                    let digits = body.dropFirst()
                    if !digits.isEmpty, digits.count <= 7, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) { value = UInt32(digits) }
                }
                guard let v = value else { throw fail("an unknown entity or bad character reference") }
                let allowed = v == 0x9 || v == 0xa || v == 0xd || (0x20...0xd7ff).contains(v) || (0xe000...0xfffd).contains(v) || (0x10000...0x10ffff).contains(v)
                guard allowed, let s = Unicode.Scalar(v) else { throw fail("a reference to a character XML does not allow") }
                scalar = s
            }
            guard let s = scalar else { throw fail("a bad reference") }
            out += Array(String(Character(s)).utf8)
            i = semi + 1
        }

        /// The element starting at `<`, with everything inside it.
        mutating func element() throws(Failure) -> S3XML.Node {
            var stack: [Open] = []
            func open(_ n: [UInt8]) throws(Failure) {
                elements += 1
                if elements > maxElements { throw fail("more than \(maxElements) elements") }
                if stack.count >= maxDepth { throw fail("nested deeper than \(maxDepth) levels") }
                stack.append(Open(name: n))
            }
            func node(_ o: Open) -> S3XML.Node {
                S3XML.Node(name: String(decoding: o.name, as: UTF8.self), text: String(decoding: o.text, as: UTF8.self), children: o.children)
            }
            let first = try startTag()
            try open(first.name)
            if first.empty { return node(stack[0]) }
            while true {
                guard i < b.count else { throw fail("unclosed element <\(String(decoding: stack[stack.count - 1].name, as: UTF8.self))>") }
                let c = b[i]
                if c == UInt8(ascii: "<") {
                    if at("</") {
                        i += 2
                        let n = try name()
                        skipSpace()
                        guard i < b.count, b[i] == UInt8(ascii: ">") else { throw fail("a bad end tag") }
                        i += 1
                        guard let top = stack.popLast(), top.name == n else { throw fail("a mismatched end tag") }
                        if stack.isEmpty { return node(top) }
                        stack[stack.count - 1].children.append(node(top))
                    } else if at("<!--") {
                        try comment()
                    } else if at("<![CDATA[") {
                        guard let end = find("]]>", from: i + 9) else { throw fail("unclosed CDATA") }
                        try checkChars(i + 9, end)
                        try append(Array(b[(i + 9)..<end]), to: &stack)
                        i = end + 3
                    } else if at("<?") {
                        try instruction()
                    } else if at("<!") {
                        throw fail("a declaration inside an element")
                    } else {
                        let t = try startTag()
                        try open(t.name)
                        if t.empty {
                            let o = stack.removeLast()
                            stack[stack.count - 1].children.append(node(o))
                        }
                    }
                } else if c == UInt8(ascii: "&") {
                    var out: [UInt8] = []
                    try reference(into: &out)
                    try append(out, to: &stack)
                } else {
                    let start = i
                    while i < b.count && b[i] != UInt8(ascii: "<") && b[i] != UInt8(ascii: "&") {
                        if b[i] < 0x20 && !Self.isSpace(b[i]) { throw fail("a control character") }
                        i += 1
                    }
                    var run = Array(b[start..<i])
                    if run.contains(0x0d) { run = Self.normalizeNewlines(run) }
                    try append(run, to: &stack)
                }
            }
        }

        func append(_ bytes: [UInt8], to stack: inout [Open]) throws(Failure) {
            guard !stack.isEmpty else { throw fail("text outside the root") }
            if stack[stack.count - 1].text.count + bytes.count > maxText { throw fail("an element's text is longer than \(maxText) bytes") }
            stack[stack.count - 1].text += bytes
        }

        static func normalizeNewlines(_ run: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            var k = 0
            while k < run.count {
                if run[k] == 0x0d {
                    out.append(0x0a)
                    if k + 1 < run.count && run[k + 1] == 0x0a { k += 1 }
                } else {
                    out.append(run[k])
                }
                k += 1
            }
            return out
        }
    }
}
