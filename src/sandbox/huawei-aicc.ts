/** Huawei AICC agent-account simulator (seed 002): tokenByAkSk, bearer checks, the account and password rules. */
import { ownEntry } from "../lib/own-entry";
import { randomUUID } from "node:crypto";
import {
  bytesOf,
  checkModel,
  header,
  lengthOf,
  VendorError,
  VendorSandbox,
  type ActionModel,
  type Json,
  type SandboxRequest,
  type SandboxResponse,
  type SandboxUser,
} from "./sandbox";

export interface HuaweiSecret {
  appKey: string;
  appSecret: string;
}

const BASE = "/apiaccess/rest/cc-management/v1/";
const TOKEN_PATH = "/apigovernance/api/oauth/tokenByAkSk";

/** The agent APIs' request bodies, from their parameter tables (seed 002 for create; shared/vendors.md §3.2). */
export const HUAWEI_MODELS: Record<string, ActionModel> = {
  "agentAccount/create": {
    params: {
      userAccount: "string",
      userName: "string",
      password: "string",
      email: "string",
      agentType: "integer",
      ccRoleId: "integer",
      skills: "array",
      phone: "string",
    },
    required: ["userAccount", "userName", "password", "email", "agentType", "ccRoleId"],
  },
  "agentAccount/update": {
    params: {
      userAccount: "string",
      userName: "string",
      email: "string",
      phone: "string",
      agentType: "integer",
      ccRoleId: "integer",
      skills: "array",
      oldPassWord: "string",
      newPassWord: "string",
    },
    required: ["userAccount"],
  },
  "agentAccount/delete": { params: { userAccount: "string" }, required: ["userAccount"] },
  "agentAccount/query": { params: { userAccount: "string", pageNum: "integer", pageSize: "integer", agentType: "array" }, required: [] },
};

export class HuaweiAiccSandbox extends VendorSandbox {
  readonly host = "service.besclouds.com";
  readonly tokens = new Map<string, number>();
  tokenRequests = 0;
  private nextWorkNo = 100;

  constructor(private readonly secret: HuaweiSecret) {
    super();
  }

  /** Expires every token now (a vendor-side revocation). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  private readonly actions: Record<string, (p: Json) => Json> = {
    "agentAccount/create": (p) => {
      for (const name of ["userAccount", "userName", "password", "email", "agentType", "ccRoleId"])
        if (p[name] === undefined || p[name] === "") throw new VendorError(400, "1", `${name} is mandatory`);
      if (!/^[A-Za-z0-9@._-]{6,50}$/.test(String(p.userAccount))) throw new VendorError(400, "1", "userAccount is 6 to 50 letters, digits, @ . - _");
      if (lengthOf(p.userName) > 20 || /["[\]'&()=;<>,]/.test(String(p.userName)))
        throw new VendorError(400, "1", "userName is at most 20 characters without \"[]'&()=;<>,");
      const pw = String(p.password);
      if (pw.length < 8 || !/[A-Z]/.test(pw) || !/[a-z]/.test(pw) || !/[0-9]/.test(pw) || !/[^A-Za-z0-9]/.test(pw))
        throw new VendorError(400, "1", "password does not meet the password rule");
      if (!/^[^@\s]{1,64}@[^@\s]{1,255}$/.test(String(p.email))) throw new VendorError(400, "1", "email is not valid");
      if (![4, 11, 5, 99].includes(p.agentType as number)) throw new VendorError(400, "1", "agentType must be 4, 11, 5 or 99");
      if (![2, 3, 4].includes(p.ccRoleId as number)) throw new VendorError(400, "1", "ccRoleId must be 2, 3 or 4");
      if (p.phone !== undefined && lengthOf(p.phone) > 25) throw new VendorError(400, "1", "phone is at most 25 characters");
      this.checkSkills(p.skills);
      if (this.users.has(String(p.userAccount))) throw new VendorError(500, "1", "the agent account already exists");
      const workNo = this.nextWorkNo++;
      const user: SandboxUser = { id: String(p.userAccount), ...p, workNo };
      delete user.password;
      this.users.set(user.id, user);
      return { resultMessage: "create agent account success", workNo };
    },
    "agentAccount/update": (p) => {
      const user = this.accountOf(p.userAccount);
      if (p.userName !== undefined && (bytesOf(p.userName) > 20 || /["[\]'&()=;<>,]/.test(String(p.userName))))
        throw new VendorError(400, "1", "userName is at most 20 bytes without \"[]'&()=;<>,");
      if (p.email !== undefined && !/^[^@\s]{1,64}@[^@\s]{1,255}$/.test(String(p.email))) throw new VendorError(400, "1", "email is not valid");
      if (p.newPassWord !== undefined) {
        const pw = String(p.newPassWord);
        if (pw.length < 8 || !/[A-Z]/.test(pw) || !/[a-z]/.test(pw) || !/[0-9]/.test(pw) || !/[^A-Za-z0-9]/.test(pw))
          throw new VendorError(400, "1", "newPassWord does not meet the password rule");
        user.passwordSetAt = Date.now();
      }
      if (p.skills !== undefined) this.checkSkills(p.skills);
      const { userAccount, newPassWord, oldPassWord, ...fields } = p;
      void userAccount;
      void newPassWord;
      void oldPassWord;
      Object.assign(user, fields);
      return { resultMessage: "update agent account success" };
    },
    "agentAccount/delete": (p) => {
      // The delete documentation forbids '@' and '.' in the account, unlike create.
      if (/[@.]/.test(String(p.userAccount ?? ""))) throw new VendorError(400, "1", "userAccount contains characters delete does not accept");
      const user = this.accountOf(p.userAccount);
      this.users.delete(user.id);
      return { resultMessage: "delete agent account success" };
    },
    "agentAccount/query": (p) => {
      if (p.userAccount !== undefined) {
        const u = this.users.get(String(p.userAccount));
        return { resultMessage: "success", data: u ? [this.view(u)] : [], total: u ? 1 : 0 };
      }
      const size = Number(p.pageSize ?? 10);
      const num = Number(p.pageNum ?? 0);
      const all = [...this.users.values()];
      return { resultMessage: "success", data: all.slice(num * size, (num + 1) * size).map((u) => this.view(u)), total: all.length };
    },
  };

  private checkSkills(skills: unknown): void {
    for (const skill of (skills as { skillId?: unknown; agentWeight?: number; skillWeight?: number }[] | undefined) ?? []) {
      if (typeof skill.skillId !== "number") throw new VendorError(400, "1", "skillId is an integer");
      if (!this.groups.has(String(skill.skillId))) throw new VendorError(500, "1", `the skill queue ${skill.skillId} does not exist`);
      if ((skill.agentWeight ?? 1) < 1 || (skill.skillWeight ?? 1) < 1) throw new VendorError(400, "1", "weights are at least 1");
    }
  }

  private accountOf(account: unknown): SandboxUser {
    const user = this.users.get(String(account));
    if (!user) throw new VendorError(500, "1", `the agent account ${String(account)} does not exist`);
    return user;
  }

  private view(u: SandboxUser): Json {
    const { id, ...rest } = u;
    void id;
    return { ...rest, sipAccount: `sip${u.workNo as number}` };
  }

  protected dispatch(req: SandboxRequest) {
    if (req.path === TOKEN_PATH) return this.tokenRoute(req);
    if (!req.path.startsWith(BASE)) throw new VendorError(404, "404", "The requested content is not found.");
    const token = /^Bearer (\S+)$/.exec(header(req.headers, "authorization"))?.[1];
    const expires = token ? this.tokens.get(token) : undefined;
    if (!token || expires === undefined || expires < Date.now()) throw new VendorError(401, "401", "Unauthorized operation.");
    const action = req.path.slice(BASE.length);
    const handler = ownEntry(this.actions, action);
    if (!handler) throw new VendorError(404, "404", "The requested content is not found.");
    const params = JSON.parse(req.body || "{}") as Json;
    const model = ownEntry(HUAWEI_MODELS, action);
    // The seeds: "Status code: 400 — Incorrect request. Check the request path and parameters."
    if (model)
      checkModel(
        model,
        params,
        (problem, name, expected) =>
          new VendorError(
            400,
            "1",
            problem === "type"
              ? `${name} must be of type ${expected}`
              : problem === "missing"
                ? `${name} is mandatory`
                : `${name} is not a parameter of ${action}`,
          ),
      );
    return { action, params, run: () => handler(params) };
  }

  private tokenRoute(req: SandboxRequest) {
    const body = JSON.parse(req.body || "{}") as Json;
    return {
      action: "tokenByAkSk",
      params: { app_key: body.app_key },
      run: () => {
        this.tokenRequests++;
        if (body.app_key !== this.secret.appKey || body.app_secret !== this.secret.appSecret) throw new VendorError(401, "401", "invalid app key or secret");
        const expire = Number(header(req.headers, "x-token-expire") || 600);
        const token = randomUUID();
        this.tokens.set(token, Date.now() + expire * 1000);
        return {
          AccessToken: token,
          ApplyType: "Bearer",
          CreateTime: String(Math.floor(Date.now() / 1000)),
          Expires: String(expire),
          Scope: "all",
          AppKey: body.app_key,
          UserID: "sandbox",
        };
      },
    };
  }

  /**
   * Huawei documents no rate limit or error codes (shared/vendors.md §3.2), and its mapping has none: the
   * status decides, so throttling is HTTP 429 in the usual resultCode "1" envelope.
   */
  protected override throttlingError(): VendorError {
    return new VendorError(429, "429", "Too many requests: the flow control threshold is reached.");
  }

  /** HTTP 503, never 500: the mapping (seed 002) reads 500 as a business failure, a permanent refusal. */
  protected override outageError(): VendorError {
    return new VendorError(503, "503", "Service temporarily unavailable.");
  }

  protected success(action: string, result: Json): SandboxResponse {
    return { status: 200, body: action === "tokenByAkSk" ? result : { resultCode: "0", ...result } };
  }

  protected failure(_action: string, error: VendorError): SandboxResponse {
    return { status: error.status, body: { resultCode: "1", resultMessage: error.message } };
  }
}
