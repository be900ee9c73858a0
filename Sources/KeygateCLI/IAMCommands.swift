import ArgumentParser
import ControlPlane
import Foundation
import LocalProcess

struct IAMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam", abstract: "Manage service accounts and their keys.",
        subcommands: [ServiceAccountsCommand.self])
}

struct ServiceAccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-accounts", abstract: "Create, list and delete service accounts; manage keys.",
        subcommands: [Create.self, List.self, Describe.self, Delete.self, KeysCommand.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a service account NAME@PROJECT.iam.gserviceaccount.com.")
        @Argument(help: "Account ID: 6–30 lowercase letters, digits or hyphens.") var name: String
        @Option var displayName: String?
        @Option var description: String?
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = CLIContext(path: "keygate.iam.service-accounts.create")
            let project = try global.resolvedProject(context.config)
            var account: [String: JSONValue] = [:]
            if let displayName { account["displayName"] = .string(displayName) }
            if let description { account["description"] = .string(description) }
            let json = try await context.client().post("/v1/projects/\(project)/serviceAccounts",
                                                       ["accountId": .string(name), "serviceAccount": .object(account)])
            FileHandle.standardError.write(Data("Created service account [\(name)].\n".utf8))
            if global.format != nil { try global.printer.printResource(json, fields: []) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the project's service accounts.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let context = CLIContext(path: "keygate.iam.service-accounts.list")
            let json = try await context.client().get("/v1/projects/\(try global.resolvedProject(context.config))/serviceAccounts")
            try global.printer.printList(json["accounts"]?.arrayValue ?? [], columns: [
                ("DISPLAY NAME", { OutputFormat.plain($0["displayName"]) }),
                ("EMAIL", { OutputFormat.plain($0["email"]) }),
                ("DISABLED", { $0["disabled"] == .bool(true) ? "True" : "False" }),
            ])
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a service account.")
        @Argument var email: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let context = CLIContext(path: "keygate.iam.service-accounts.describe")
            let json = try await context.client().get("/v1/projects/-/serviceAccounts/\(email)")
            try global.printer.printResource(json, fields: [("email", "email"), ("displayName", "displayName"), ("description", "description"), ("uniqueId", "uniqueId"), ("name", "name")])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a service account and its keys.")
        @Argument var email: String
        @Flag(name: .shortAndLong, help: "Do not ask for confirmation (this CLI never prompts).") var quiet = false
        func run() async throws {
            let context = CLIContext(path: "keygate.iam.service-accounts.delete")
            _ = try await context.client().delete("/v1/projects/-/serviceAccounts/\(email)")
            FileHandle.standardError.write(Data("deleted service account [\(email)]\n".utf8))
        }
    }

    struct KeysCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage service account keys.",
                                                        subcommands: [Create.self, List.self, Delete.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key and write its JSON key file (mode 0600).")
            @Argument(help: "Where to write the key file.") var outputFile: String
            @Option var iamAccount: String
            func run() async throws {
                let context = CLIContext(path: "keygate.iam.service-accounts.keys.create")
                let json = try await context.client().post("/v1/projects/-/serviceAccounts/\(iamAccount)/keys",
                                                           ["privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "keyAlgorithm": "KEY_ALG_RSA_2048"])
                guard let b64 = json["privateKeyData"]?.stringValue, let data = Data(base64Encoded: b64) else {
                    throw CLIError("The API returned no private key data.")
                }
                do {
                    try SecretFile.write(data, to: outputFile)
                } catch {
                    throw CLIError("Unable to write file [\(outputFile)].")
                }
                let keyID = OutputFormat.plain(json["name"]).split(separator: "/").last.map(String.init) ?? ""
                FileHandle.standardError.write(Data("created key [\(keyID)] of type [json] as [\(outputFile)] for [\(iamAccount)]\n".utf8))
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List a service account's keys.")
            @Option var iamAccount: String
            @OptionGroup var global: GlobalOptions
            func run() async throws {
                let context = CLIContext(path: "keygate.iam.service-accounts.keys.list")
                let json = try await context.client().get("/v1/projects/-/serviceAccounts/\(iamAccount)/keys")
                try global.printer.printList(json["keys"]?.arrayValue ?? [], columns: [
                    ("KEY_ID", { OutputFormat.plain($0["name"]).split(separator: "/").last.map(String.init) ?? "" }),
                    ("CREATED_AT", { OutputFormat.plain($0["validAfterTime"]) }),
                    ("EXPIRES_AT", { OutputFormat.plain($0["validBeforeTime"]) }),
                ])
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a key: it can no longer get tokens.")
            @Argument var keyID: String
            @Option var iamAccount: String
            @Flag(name: .shortAndLong) var quiet = false
            func run() async throws {
                let context = CLIContext(path: "keygate.iam.service-accounts.keys.delete")
                _ = try await context.client().delete("/v1/projects/-/serviceAccounts/\(iamAccount)/keys/\(keyID)")
                FileHandle.standardError.write(Data("deleted key [\(keyID)] for service account [\(iamAccount)]\n".utf8))
            }
        }
    }
}
