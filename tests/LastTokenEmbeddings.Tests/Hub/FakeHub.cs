using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.Tests.Hub;

/// <summary>One model repository served by <see cref="FakeHub"/>: files at one commit, reachable by branch or commit.</summary>
internal sealed class FakeRepo
{
    public FakeRepo(string id, IReadOnlyDictionary<string, byte[]> files, string? commit = null)
    {
        Id = id;
        Files = new Dictionary<string, byte[]>(files, StringComparer.Ordinal);
        Commit = commit ?? Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("commit of " + id)));
    }

    public string Id { get; }

    public string Commit { get; }

    public Dictionary<string, byte[]> Files { get; }

    /// <summary>Branches and tags, each naming <see cref="Commit"/>.</summary>
    public HashSet<string> Branches { get; } = new(StringComparer.Ordinal) { "main" };

    /// <summary>Files listed in the revision API's siblings whose resolve answers 404 EntryNotFound.</summary>
    public HashSet<string> ListedButMissing { get; } = new(StringComparer.Ordinal);

    /// <summary>Resolve needs a valid token (401 GatedRepo without one, 403 with another).</summary>
    public bool Gated { get; init; }

    /// <summary>Everything needs a valid token; without one the Hub says RepoNotFound (with 401), as it does for private repos.</summary>
    public bool Private { get; init; }

    public IEnumerable<string> Siblings => Files.Keys.Concat(ListedButMissing).Order(StringComparer.Ordinal);

    /// <summary>The Hub keeps weights and large files in LFS (served from the CDN, named by sha256), the rest in git.</summary>
    public static bool IsLfs(string path, byte[] content) =>
        content.Length > 10 * 1024 * 1024 || new[] { ".safetensors", ".model", ".bin", ".onnx", ".gguf" }.Any(e => path.EndsWith(e, StringComparison.Ordinal));

    public bool IsLfs(string path) => IsLfs(path, Files[path]);

    /// <summary>The blob name the Hub announces: sha256 for LFS files, the git blob id otherwise.</summary>
    public string ETagOf(string path) => IsLfs(path) ? Sha256(Files[path]) : GitBlobId(Files[path]);

    // Hashes by content array (arrays are never modified once served), so each file is hashed once per test run.
    private static readonly ConditionalWeakTable<byte[], string> Sha256s = [];
    private static readonly ConditionalWeakTable<byte[], string> GitBlobIds = [];
    private static readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, byte[]>> Fixtures = new(StringComparer.Ordinal);

    public static string Sha256(byte[] content) => Sha256s.GetValue(content, c => Convert.ToHexStringLower(SHA256.HashData(c)));

    public static string GitBlobId(byte[] content) => GitBlobIds.GetValue(content, c =>
    {
        var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {c.Length}\0"));
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. c]));
    });

    /// <summary>Every file of a vendored fixture (symlinks followed), plus <paramref name="extra"/>.</summary>
    public static FakeRepo FromFixture(string id, string fixtureName, params (string Path, byte[] Content)[] extra)
    {
        var files = new Dictionary<string, byte[]>(Fixtures.GetOrAdd(fixtureName, name =>
        {
            var directory = HubTestPaths.Fixture(name);
            return Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes, StringComparer.Ordinal);
        }), StringComparer.Ordinal);
        foreach (var (path, content) in extra)
            files[path] = content;
        return new FakeRepo(id, files);
    }
}

/// <summary>One request the fake hub received.</summary>
internal sealed class HubRequest
{
    public required string Method { get; init; }

    /// <summary>"api" (revision API), "resolve" or "cdn".</summary>
    public required string Kind { get; init; }

    public required string Host { get; init; }

    public string? RepoId { get; init; }

    public string? Revision { get; init; }

    /// <summary>The repository file concerned (for the CDN, the file whose blob it is).</summary>
    public string? FileName { get; init; }

    public string? Range { get; init; }

    public string? Authorization { get; init; }

    public string? Query { get; init; }

    /// <summary>Body bytes written for this request.</summary>
    public long BytesSent { get; set; }

    public bool IsBody => Method == "GET" && (Kind == "cdn" || Kind == "resolve");

    public override string ToString() => $"{Method} {Kind} {RepoId} {Revision} {FileName} range={Range} sent={BytesSent}";
}

/// <summary>
/// A Hugging Face Hub in miniature: <c>GET /api/models/{id}/revision/{rev}</c>, <c>HEAD|GET /{id}/resolve/{rev}/{path}</c>
/// with X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size and X-Error-Code as the Hub sends them, LFS files redirected
/// to a CDN on another host, and Range support. Faults are injected per request. It runs in process (TestServer) or
/// on loopback sockets (Kestrel, two ports: the hub and its CDN).
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, FakeRepo> _repos = new(StringComparer.Ordinal);
    private readonly List<Fault> _faults = [];
    private readonly List<(Func<HubRequest, bool> Match, TaskCompletionSource<HubRequest> Arrived)> _waiters = [];
    private string _cdnAuthority = "";

    private FakeHub(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    public Uri CdnBase { get; private set; } = null!;

    /// <summary>TestServer's handler; <see langword="null"/> on sockets (the library's own socket handler is used).</summary>
    public HttpMessageHandler? Handler { get; private set; }

    public ConcurrentQueue<HubRequest> Requests { get; } = new();

    /// <summary>The token that opens gated and private repositories.</summary>
    public string? ValidToken { get; set; }

    /// <summary>Serve whole files whatever Range says (as some proxies do).</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>Old ids of renamed repositories: the Hub answers them with a relative redirect to the new id.</summary>
    public Dictionary<string, string> Renamed { get; } = new(StringComparer.Ordinal);

    /// <summary>Echo the Authorization header received in error answers (X-Error-Message and body), as a careless server might.</summary>
    public bool EchoAuthorizationInErrors { get; set; }

    public static async Task<FakeHub> StartAsync(bool onLoopbackSockets = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (onLoopbackSockets)
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, 0); // the hub
                kestrel.Listen(IPAddress.Loopback, 0); // its CDN: another origin
            });
        }
        else
        {
            builder.WebHost.UseTestServer();
        }
        var app = builder.Build();
        var hub = new FakeHub(app);
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        if (onLoopbackSockets)
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
            hub.Endpoint = new Uri(addresses[0]);
            hub.CdnBase = new Uri(addresses[1]);
        }
        else
        {
            hub.Endpoint = new Uri("http://hub.test");
            hub.CdnBase = new Uri("http://cdn-lfs.hub.test");
            hub.Handler = app.GetTestServer().CreateHandler();
        }
        hub._cdnAuthority = hub.CdnBase.Authority;
        return hub;
    }

    public FakeRepo Add(FakeRepo repo)
    {
        _repos[repo.Id] = repo;
        return repo;
    }

    /// <summary>Answers the next <paramref name="times"/> matching requests with <paramref name="status"/> instead.</summary>
    public void FailWith(int status, int times, Func<HubRequest, bool> match, string? errorCode = null) =>
        AddFault(new Fault { Match = match, Remaining = times, Status = status, ErrorCode = errorCode });

    /// <summary>Closes the connection after byte <paramref name="atByte"/> of the file (absolute offset), for the next <paramref name="times"/> bodies.</summary>
    public void DropConnection(string fileName, long atByte, int times = 1) =>
        AddFault(new Fault { Match = r => r.IsBody && r.FileName == fileName, Remaining = times, DropAt = atByte });

    /// <summary>Serves the file with one byte flipped, for the next <paramref name="times"/> bodies.</summary>
    public void Corrupt(string fileName, int times = int.MaxValue) =>
        AddFault(new Fault { Match = r => r.IsBody && r.FileName == fileName, Remaining = times, Corrupt = true });

    /// <summary>Completes when a matching request arrives (or has arrived).</summary>
    public Task<HubRequest> WaitForRequestAsync(Func<HubRequest, bool> match)
    {
        lock (_waiters)
        {
            if (Requests.FirstOrDefault(match) is { } seen)
                return Task.FromResult(seen);
            var arrived = new TaskCompletionSource<HubRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, arrived));
            return arrived.Task;
        }
    }

    public IEnumerable<HubRequest> RequestsFor(string fileName) => Requests.Where(r => r.FileName == fileName);

    public long BytesSentFor(string fileName) => RequestsFor(fileName).Sum(r => r.BytesSent);

    public int BodyRequestsFor(string fileName) => RequestsFor(fileName).Count(r => r.IsBody && (r.Kind == "cdn" || !IsLfsFile(r)));

    private bool IsLfsFile(HubRequest r) => r.RepoId is not null && _repos.TryGetValue(r.RepoId, out var repo) && repo.Files.ContainsKey(r.FileName!) && repo.IsLfs(r.FileName!);

    private void AddFault(Fault fault)
    {
        lock (_faults)
            _faults.Add(fault);
    }

    private Fault? TakeFault(HubRequest request, Func<Fault, bool> kind)
    {
        lock (_faults)
        {
            var fault = _faults.FirstOrDefault(f => f.Remaining > 0 && kind(f) && f.Match(request));
            if (fault is not null)
                fault.Remaining--;
            return fault;
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var segments = (context.Request.Path.Value ?? "/").Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        var isCdn = string.Equals(context.Request.Host.Value, _cdnAuthority, StringComparison.OrdinalIgnoreCase);
        var authorization = context.Request.Headers.Authorization.FirstOrDefault();
        HubRequest request;
        FakeRepo? repo = null;
        if (isCdn && segments is ["repos", var sha])
        {
            var owner = _repos.Values.SelectMany(r => r.Files.Keys.Where(r.IsLfs).Select(f => (Repo: r, File: f))).FirstOrDefault(x => x.Repo.ETagOf(x.File) == sha);
            repo = owner.Repo;
            request = new HubRequest { Method = context.Request.Method, Kind = "cdn", Host = context.Request.Host.Value!, RepoId = owner.Repo?.Id, FileName = owner.File, Range = context.Request.Headers.Range.FirstOrDefault(), Authorization = authorization, Query = context.Request.QueryString.Value };
        }
        else if (!isCdn && segments is ["api", "models", var org, var name, "revision", .. var revisionParts] && revisionParts.Length > 0)
        {
            _repos.TryGetValue($"{org}/{name}", out repo);
            request = new HubRequest { Method = context.Request.Method, Kind = "api", Host = context.Request.Host.Value!, RepoId = $"{org}/{name}", Revision = string.Join('/', revisionParts), Authorization = authorization };
        }
        else if (!isCdn && segments is [var org2, var name2, "resolve", var revision, .. var fileParts] && fileParts.Length > 0)
        {
            _repos.TryGetValue($"{org2}/{name2}", out repo);
            request = new HubRequest { Method = context.Request.Method, Kind = "resolve", Host = context.Request.Host.Value!, RepoId = $"{org2}/{name2}", Revision = revision, FileName = string.Join('/', fileParts), Range = context.Request.Headers.Range.FirstOrDefault(), Authorization = authorization };
        }
        else
        {
            context.Response.StatusCode = 400;
            return;
        }
        Record(request);

        if (request.Kind != "cdn" && request.RepoId is { } requestedId && Renamed.TryGetValue(requestedId, out var newId))
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = (context.Request.Path.Value ?? "").Replace(requestedId, newId, StringComparison.Ordinal);
            return;
        }

        if (TakeFault(request, f => f.Status != 0) is { } statusFault)
        {
            await ErrorAsync(context, statusFault.Status, statusFault.ErrorCode, "Injected failure", repo?.Commit);
            return;
        }
        if (repo is null)
        {
            await ErrorAsync(context, 404, "RepoNotFound", "Repository not found", null);
            return;
        }
        var hasValidToken = ValidToken is not null && authorization == "Bearer " + ValidToken;
        if (repo.Private && !hasValidToken && request.Kind != "cdn")
        {
            await ErrorAsync(context, 401, "RepoNotFound", "Repository not found", null);
            return;
        }
        switch (request.Kind)
        {
            case "api":
                await RevisionInfoAsync(context, repo, request.Revision!);
                return;
            case "resolve":
                await ResolveAsync(context, repo, request, hasValidToken);
                return;
            default:
                await ServeBodyAsync(context, repo.Files[request.FileName!], request);
                return;
        }
    }

    private void Record(HubRequest request)
    {
        Requests.Enqueue(request);
        lock (_waiters)
        {
            foreach (var waiter in _waiters.Where(w => w.Match(request)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Arrived.TrySetResult(request);
            }
        }
    }

    private static string? CommitOf(FakeRepo repo, string revision) =>
        repo.Branches.Contains(revision) || revision == repo.Commit ? repo.Commit : null;

    private async Task RevisionInfoAsync(HttpContext context, FakeRepo repo, string revision)
    {
        if (CommitOf(repo, revision) is not { } commit)
        {
            await ErrorAsync(context, 404, "RevisionNotFound", $"Invalid rev id: {revision}", null);
            return;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            _id = "0123456789abcdef01234567",
            id = repo.Id,
            modelId = repo.Id,
            sha = commit,
            @private = repo.Private,
            gated = repo.Gated ? "auto" : (object)false,
            siblings = repo.Siblings.Select(f => new { rfilename = f }).ToArray(),
        });
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    private async Task ResolveAsync(HttpContext context, FakeRepo repo, HubRequest request, bool hasValidToken)
    {
        if (CommitOf(repo, request.Revision!) is not { } commit)
        {
            await ErrorAsync(context, 404, "RevisionNotFound", $"Invalid rev id: {request.Revision}", null);
            return;
        }
        var file = request.FileName!;
        if (repo.Gated && !hasValidToken)
        {
            var status = request.Authorization is null ? 401 : 403;
            await ErrorAsync(context, status, "GatedRepo", $"Access to model {repo.Id} is restricted. You must have access to it and be authenticated to access it. Please log in.", commit);
            return;
        }
        if (repo.ListedButMissing.Contains(file) || !repo.Files.TryGetValue(file, out var content))
        {
            await ErrorAsync(context, 404, "EntryNotFound", $"{file} does not exist on \"{request.Revision}\"", commit);
            return;
        }
        var headers = context.Response.Headers;
        headers["X-Repo-Commit"] = commit;
        if (repo.IsLfs(file))
        {
            var sha = repo.ETagOf(file);
            headers["X-Linked-Etag"] = $"\"{sha}\"";
            headers["X-Linked-Size"] = content.Length.ToString(CultureInfo.InvariantCulture);
            headers.ETag = $"\"{FakeRepo.GitBlobId(Encoding.ASCII.GetBytes($"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {content.Length}\n"))}\"";
            headers.Location = new Uri(CdnBase, $"repos/{sha}?X-Amz-Signature=signed-for-{Uri.EscapeDataString(file)}&response-content-disposition=inline").ToString();
            context.Response.StatusCode = 302;
            context.Response.ContentLength = 0;
            return;
        }
        headers.ETag = $"\"{repo.ETagOf(file)}\"";
        await ServeBodyAsync(context, content, request);
    }

    private async Task ServeBodyAsync(HttpContext context, byte[] content, HubRequest request)
    {
        long start = 0;
        context.Response.Headers.AcceptRanges = "bytes";
        if (!IgnoreRange && request.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (start >= content.Length)
            {
                context.Response.StatusCode = 416;
                context.Response.Headers.ContentRange = $"bytes */{content.Length}";
                return;
            }
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        context.Response.ContentLength = content.Length - start;
        if (context.Request.Method != "GET")
            return;

        var corrupt = TakeFault(request, f => f.Corrupt) is not null;
        var dropAt = TakeFault(request, f => f.DropAt is not null)?.DropAt;
        var body = content;
        if (corrupt)
        {
            body = (byte[])content.Clone();
            body[body.Length / 2] ^= 0xFF;
        }
        const int Chunk = 64 * 1024;
        for (var offset = start; offset < body.Length; offset += Chunk)
        {
            var end = Math.Min(body.Length, offset + Chunk);
            if (dropAt is { } drop && end > drop)
            {
                if (drop > offset)
                {
                    await context.Response.Body.WriteAsync(body.AsMemory((int)offset, (int)(drop - offset)));
                    request.BytesSent += drop - offset;
                }
                await context.Response.Body.FlushAsync();
                context.Abort(); // the connection drops mid-file
                return;
            }
            await context.Response.Body.WriteAsync(body.AsMemory((int)offset, (int)(end - offset)));
            request.BytesSent += end - offset;
        }
    }

    private async Task ErrorAsync(HttpContext context, int status, string? errorCode, string message, string? commit)
    {
        var authorization = context.Request.Headers.Authorization.FirstOrDefault();
        if (EchoAuthorizationInErrors && authorization is not null)
            message += $" (you sent: {authorization})";
        context.Response.StatusCode = status;
        if (errorCode is not null)
            context.Response.Headers["X-Error-Code"] = errorCode;
        context.Response.Headers["X-Error-Message"] = message;
        if (commit is not null)
            context.Response.Headers["X-Repo-Commit"] = commit;
        var body = JsonSerializer.SerializeToUtf8Bytes(new { error = message });
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        if (context.Request.Method != "HEAD")
            await context.Response.Body.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        Handler?.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Fault
    {
        public required Func<HubRequest, bool> Match { get; init; }

        public int Remaining { get; set; }

        public int Status { get; init; }

        public string? ErrorCode { get; init; }

        public long? DropAt { get; init; }

        public bool Corrupt { get; init; }
    }
}
