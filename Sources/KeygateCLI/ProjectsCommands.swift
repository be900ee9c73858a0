import ArgumentParser
import ControlPlane
import Foundation
import IAM

struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projects", abstract: "View and edit project IAM policies.",
        subcommands: [GetIAMPolicy.self, AddIAMPolicyBinding.self, RemoveIAMPolicyBinding.self])

    /// `--condition=expression=…,title=…,description=…` (or `None`), as gcloud parses it.
    static func parseCondition(_ text: String?) throws -> Policy.Condition? {
        guard let text, text != "None" else { return nil }
        var fields: [String: String] = [:]
        var key = ""
        var value = ""
        var inKey = true
        // Values may contain commas inside quotes or parentheses; split only at top level.
        var depth = 0
        var quote: Character?
        func flush() { if !key.isEmpty { fields[key.trimmingCharacters(in: .whitespaces)] = value }; key = ""; value = ""; inKey = true }
        for c in text {
            if inKey {
                if c == "=" { inKey = false } else { key.append(c) }
                continue
            }
            if let q = quote { if c == q { quote = nil }; value.append(c); continue }
            if c == "'" || c == "\"" { quote = c; value.append(c); continue }
            if c == "(" || c == "[" { depth += 1 }
            if c == ")" || c == "]" { depth -= 1 }
            if c == "," && depth == 0 { flush(); continue }
            value.append(c)
        }
        flush()
        guard let expression = fields["expression"], !expression.isEmpty else {
            throw CLIError("argument --condition: expression is required, e.g. --condition='expression=resource.name.startsWith(\"projects/p/locations/r/clusters/c\"),title=only-c'")
        }
        return Policy.Condition(expression: expression, title: fields["title"], description: fields["description"])
    }

    static func getPolicy(_ client: APIClient, _ project: String) async throws -> Policy {
        let json = try await client.post("/v3/projects/\(project):getIamPolicy", ["options": ["requestedPolicyVersion": 3]])
        return try JSONDecoder().decode(Policy.self, from: JSONEncoder().encode(json))
    }

    /// gcloud's read-modify-write: get the policy (with its etag), edit it, set it, print the result.
    static func editPolicy(_ context: CLIContext, project: String, member: String, format: String?,
                           _ edit: (Policy, Principal) throws -> Policy) async throws {
        let principal: Principal
        do { principal = try Principal(parsing: member) } catch { throw CLIError("argument --member: \(error)") }
        let client = try await context.client()
        let policy = try await getPolicy(client, project)
        let edited: Policy
        do { edited = try edit(policy, principal) } catch let error as CLIError { throw error } catch { throw CLIError("\(error)") }
        let json = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(edited))
        let updated = try await client.post("/v3/projects/\(project):setIamPolicy", ["policy": json])
        FileHandle.standardError.write(Data("Updated IAM policy for project [\(project)].\n".utf8))
        try ResourcePrinter(format: try OutputFormat(format ?? "yaml")).printResource(updated, fields: [])
    }

    struct GetIAMPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get-iam-policy", abstract: "Show a project's IAM policy.")
        @Argument var project: String
        @Option var format: String?
        func run() async throws {
            let context = CLIContext(path: "keygate.projects.get-iam-policy")
            let json = try await context.client().post("/v3/projects/\(project):getIamPolicy", ["options": ["requestedPolicyVersion": 3]])
            try ResourcePrinter(format: try OutputFormat(format ?? "yaml")).printResource(json, fields: [])
        }
    }

    struct AddIAMPolicyBinding: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-iam-policy-binding", abstract: "Grant a role to a member on a project.")
        @Argument var project: String
        @Option(help: "user:EMAIL, serviceAccount:EMAIL, group:EMAIL, …") var member: String
        @Option(help: "e.g. roles/redis.dbConnectionUser") var role: String
        @Option(help: "expression=CEL,title=T[,description=D] or None") var condition: String?
        @Option var format: String?
        func run() async throws {
            let parsed = try ProjectsCommand.parseCondition(condition)
            try await ProjectsCommand.editPolicy(CLIContext(path: "keygate.projects.add-iam-policy-binding"), project: project,
                                                 member: member, format: format) { policy, principal in
                policy.adding(member: principal, role: role, condition: parsed)
            }
        }
    }

    struct RemoveIAMPolicyBinding: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-iam-policy-binding", abstract: "Revoke a member's role on a project.")
        @Argument var project: String
        @Option var member: String
        @Option var role: String
        @Option(help: "The binding's condition (expression=…,title=…), or None for the unconditional one.") var condition: String?
        @Flag(help: "Remove the member from every binding of the role, whatever its condition.") var all = false
        @Option var format: String?
        func run() async throws {
            let parsed = try ProjectsCommand.parseCondition(condition)
            try await ProjectsCommand.editPolicy(CLIContext(path: "keygate.projects.remove-iam-policy-binding"), project: project,
                                                 member: member, format: format) { policy, principal in
                try policy.removing(member: principal, role: role, condition: parsed, allConditions: all)
            }
        }
    }
}
