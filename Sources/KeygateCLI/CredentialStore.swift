import ControlPlane
import Foundation
import LocalProcess

/// The CLI's credentials (`cli/credentials.json`, mode 0600): per account, either a user's refresh
/// token or a service account's key file, plus the last access token minted for it. This is the only
/// file a token is ever written to.
struct CredentialStore {
    let path: String
    private(set) var document: [String: JSONValue]

    init(path: String) {
        self.path = path
        if let data = FileManager.default.contents(atPath: path), case .object(let o)? = try? JSONValue.parse(data) {
            document = o
        } else {
            document = [:]
        }
    }

    var accounts: [String: JSONValue] {
        if case .object(let o)? = document["accounts"] { return o }
        return [:]
    }

    func credential(for account: String) -> JSONValue? { accounts[account] }

    mutating func setCredential(_ credential: JSONValue, for account: String) throws {
        var all = accounts
        all[account] = credential
        document["accounts"] = .object(all)
        try forgetAccessToken(for: account)
    }

    func cachedAccessToken(for account: String, validFor margin: TimeInterval = 60) -> String? {
        guard let entry = document["accessTokens"]?[account], let token = entry["token"]?.stringValue,
              case .number(let expiry)? = entry["expiry"], expiry - margin > Date().timeIntervalSince1970 else { return nil }
        return token
    }

    mutating func cacheAccessToken(_ token: String, expiresIn: Int, for account: String) throws {
        var all: [String: JSONValue] = [:]
        if case .object(let o)? = document["accessTokens"] { all = o }
        all[account] = ["token": .string(token), "expiry": .number(Date().timeIntervalSince1970 + Double(expiresIn))]
        document["accessTokens"] = .object(all)
        try save()
    }

    mutating func forgetAccessToken(for account: String) throws {
        if case .object(var o)? = document["accessTokens"] {
            o[account] = nil
            document["accessTokens"] = .object(o)
        }
        try save()
    }

    func save() throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            try SecretFile.write(Data(JSONValue.object(document).jsonText().utf8), to: path)
        } catch {
            throw CLIError("Cannot write \(path).")
        }
    }
}
