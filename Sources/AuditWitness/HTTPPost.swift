import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP POST, synchronous, for a witness's thread (`WitnessHTTP`):
/// Foundation's URLSession (libcurl underneath) with an ephemeral session
/// (no cookies, cache or credentials), no redirects followed, an answer
/// body cut off past `maxBody` bytes, `timeout` seconds for the whole
/// exchange, and `cancelled` polled every 100 ms (unmount).
public enum HTTPPost {
    public struct Answer: Sendable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]
    }

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case timedOut(seconds: Double)
        case cancelled
        case tooLarge(limit: Int)
        case transport(String)

        public var description: String {
            switch self {
            case let .timedOut(s): "no answer within \(s) s"
            case .cancelled: "cancelled at unmount"
            case let .tooLarge(limit): "an answer of more than \(limit) bytes"
            case let .transport(why): why
            }
        }
    }

    /// Posts `body` to `url` and returns the answer, or why there is none.
    public static func post(_ url: URL, body: [UInt8], contentType: String = "text/plain; charset=utf-8", timeout: Double,
                            maxBody: Int, cancelled: @escaping @Sendable () -> Bool) -> Result<Answer, Failure> {
        let exchange = Exchange(maxBody: maxBody)
        let config = URLSessionConfiguration.ephemeral
        // The deadline below is the one that counts; the session's own comes later.
        config.timeoutIntervalForRequest = timeout + 5
        config.timeoutIntervalForResource = timeout + 5
        config.httpCookieStorage = nil
        config.urlCache = nil
        config.urlCredentialStorage = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: exchange, delegateQueue: queue)
        defer { session.invalidateAndCancel() }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout + 5)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        let task = session.dataTask(with: request)
        task.resume()
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if exchange.done.wait(timeout: .now() + 0.1) == .success { break }
            if cancelled() { task.cancel(); return .failure(.cancelled) }
            if Date() >= deadline { task.cancel(); return .failure(.timedOut(seconds: timeout)) }
        }
        return exchange.result(timeout: timeout)   // (a session time-out, should it come first, is one too)
    }

    /// The session's delegate for one task: gathers the answer under a lock.
    final class Exchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let maxBody: Int
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var response: HTTPURLResponse?
        private var body: [UInt8] = []
        private var overflow = false
        private var error: String?
        private var timedOut = false

        init(maxBody: Int) { self.maxBody = maxBody }

        func result(timeout: Double) -> Result<Answer, Failure> {
            lock.lock(); defer { lock.unlock() }
            if overflow { return .failure(.tooLarge(limit: maxBody)) }
            if timedOut { return .failure(.timedOut(seconds: timeout)) }
            if let error { return .failure(.transport(error)) }
            guard let response else { return .failure(.transport("no HTTP answer")) }
            return .success(Answer(status: response.statusCode, contentType: response.value(forHTTPHeaderField: "Content-Type"), body: body))
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            lock.lock()
            self.response = response as? HTTPURLResponse
            lock.unlock()
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.lock()
            if body.count + data.count > maxBody {
                overflow = true
                lock.unlock()
                dataTask.cancel()
                return
            }
            body += data
            lock.unlock()
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)   // a witness answers itself; a redirect's 3xx is its answer
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            lock.lock()
            if let error, !overflow {
                if (error as NSError).code == NSURLErrorTimedOut { timedOut = true }
                else if self.response == nil || (error as NSError).code != NSURLErrorCancelled { self.error = "\(error.localizedDescription)" }
            }
            if self.response == nil, let r = task.response as? HTTPURLResponse { self.response = r }
            lock.unlock()
            done.signal()
        }
    }
}
