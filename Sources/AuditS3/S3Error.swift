/// Everything that can go wrong talking to S3, as four kinds: the caller's
/// input, the server's refusal, the network, and an answer that cannot be
/// trusted. `description` is one line; text that came from the server is
/// cut to 200 characters and its control characters written as `\xHH`, so
/// a hostile answer cannot forge a second line.
public enum S3Error: Error, CustomStringConvertible, Sendable {
    /// A bad location, key, configuration file or variable (the message names it).
    case usage(String)
    /// The server answered `status`; `code` and `message` are the `<Code>` and
    /// `<Message>` of its error XML ("" when it sent none, as on HEAD).
    /// `operation` is "METHOD s3://bucket/key" (or "METHOD s3://bucket?sub").
    case http(status: Int, code: String, message: String, operation: String)
    /// No answer: connection refused, timeout, DNS, TLS, a redirect not followed.
    case transport(String)
    /// An answer that does not parse or exceeds a bound.
    case malformed(String)

    public var description: String {
        switch self {
        case .usage(let m): return m
        case .transport(let m): return m
        case .malformed(let m): return m
        case .http(let status, let code, let message, let operation):
            var line = "\(operation): \(status)"
            if !code.isEmpty { line += " " + Self.printable(code) }
            if !message.isEmpty { line += ": " + Self.printable(message) }
            return line
        }
    }

    /// True for what a later attempt may cure: transport failures, 5xx, 429,
    /// and the codes SlowDown, RequestTimeout and InternalError whatever the status.
    public var isRetryable: Bool {
        switch self {
        case .transport: return true
        case .usage, .malformed: return false
        case .http(let status, let code, _, _):
            return status >= 500 || status == 429
                || code == "SlowDown" || code == "RequestTimeout" || code == "InternalError"
        }
    }

    /// `text` cut to 200 characters, control characters and DEL as `\xHH`.
    static func printable(_ text: String, limit: Int = 200) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit { out += "…"; break }
            count += 1
            if scalar.value < 0x20 || scalar.value == 0x7f || (scalar.value >= 0x80 && scalar.value < 0xa0) {
                out += "\\x" + String(scalar.value, radix: 16).leftPaddedHex()
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    /// Two hex digits (the string is one or two digits).
    fileprivate func leftPaddedHex() -> String { count < 2 ? "0" + self : self }
}
