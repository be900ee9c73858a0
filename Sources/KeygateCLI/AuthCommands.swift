import ArgumentParser
import ControlPlane
import Foundation

struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Manage credentials: print access tokens, activate service accounts.",
        subcommands: [PrintAccessToken.self, ActivateServiceAccount.self, List.self])

    struct PrintAccessToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "print-access-token",
            abstract: "Print an access token (1 hour) for the active account, for `redis-cli -a`.")

        @Argument(help: "Account to use instead of the active one.")
        var account: String?

        @Option(help: "Mint a token for this service account instead (IAM Credentials generateAccessToken; needs roles/iam.serviceAccountTokenCreator).")
        var impersonateServiceAccount: String?

        @Option(help: "Lifetime of an impersonated token, e.g. 3600s, 12h (at most 12 h).")
        var lifetime: String?

        func run() async throws {
            let context = CLIContext(path: "keygate.auth.print-access-token")
            let endpoint = try context.environment.endpoint()
            guard let account = try account ?? context.config.get("account") else {
                throw CLIError("You do not currently have an active account selected.")
            }
            var provider = AccessTokenProvider(store: context.credentialStore, endpoint: endpoint)
            let token = try await provider.token(for: account)
            if let target = impersonateServiceAccount {
                var body: [String: JSONValue] = ["scope": ["https://www.googleapis.com/auth/cloud-platform"]]
                if let lifetime { body["lifetime"] = .string(try Self.seconds(lifetime)) }
                let client = APIClient(endpoint: endpoint, accessToken: token)
                let minted = try await client.post("/v1/projects/-/serviceAccounts/\(target):generateAccessToken", .object(body))
                guard let accessToken = minted["accessToken"]?.stringValue else { throw CLIError("generateAccessToken returned no token.") }
                print(accessToken)
            } else {
                print(token)
            }
        }

        /// `12h`, `90m`, `3600s` or `3600` → Google's duration string `3600s`.
        static func seconds(_ text: String) throws -> String {
            let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
            if let unit = text.last, let factor = units[unit], let n = Int(text.dropLast()) { return "\(n * factor)s" }
            if let n = Int(text) { return "\(n)s" }
            throw CLIError("argument --lifetime: expected a duration such as 3600s or 12h, got '\(text)'.")
        }
    }

    struct ActivateServiceAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "activate-service-account",
            abstract: "Authorize as a service account with its JSON key file, and make it the active account.")

        @Argument(help: "The service account's email (default: client_email of the key file).")
        var account: String?

        @Option(help: "Path of the JSON key file (Google's service_account format).")
        var keyFile: String

        func run() async throws {
            var context = CLIContext(path: "keygate.auth.activate-service-account")
            guard let data = FileManager.default.contents(atPath: keyFile) else {
                throw CLIError("Unable to read file [\(keyFile)].")
            }
            guard let key = try? JSONValue.parse(data), key["type"] == "service_account",
                  let email = key["client_email"]?.stringValue, key["private_key"] != nil else {
                throw CLIError("The key file [\(keyFile)] is not a service account JSON key file.")
            }
            if let account, account != email {
                throw CLIError("The account [\(account)] does not match the key file's client_email [\(email)].")
            }
            var store = context.credentialStore
            try store.setCredential(["type": "service_account", "key": key], for: email)
            // Prove the key works before switching to it.
            var provider = AccessTokenProvider(store: store, endpoint: try context.environment.endpoint())
            _ = try await provider.token(for: email, forceRefresh: true)
            try context.config.set("account", email)
            FileHandle.standardError.write(Data("Activated service account credentials for: [\(email)]\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List credentialed accounts.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = CLIContext(path: "keygate.auth.list")
            let active = try context.config.get("account")
            let accounts = context.credentialStore.accounts.keys.sorted()
            let rows: [JSONValue] = accounts.map { ["account": .string($0), "status": .string($0 == active ? "ACTIVE" : "")] }
            try global.printer.printList(rows, columns: [
                ("ACTIVE", { $0["status"] == "ACTIVE" ? "*" : "" }),
                ("ACCOUNT", { OutputFormat.plain($0["account"]) }),
            ])
            if global.format == nil, active != nil {
                FileHandle.standardError.write(Data("\nTo set the active account, run:\n    $ keygate config set account `ACCOUNT`\n".utf8))
            }
        }
    }
}
