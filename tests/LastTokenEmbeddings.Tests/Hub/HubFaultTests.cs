using System.Net;
using LastTokenEmbeddings.Hub;
using static LastTokenEmbeddings.Tests.Hub.HubResolutionTests;

namespace LastTokenEmbeddings.Tests.Hub;

/// <summary>Dropped connections, server errors, refusals, corruption, offline use and secrecy of the token.</summary>
public class HubFaultTests
{
    private const string Weights = "model.safetensors";

    [Test]
    public async Task A_connection_dropped_mid_file_resumes_with_a_range_request()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var size = repo.Files[Weights].Length;
        hub.DropConnection(Weights, atByte: size * 2 / 5);
        var logger = new CapturingLogger();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger));

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        var ranges = hub.RequestsFor(Weights).Where(r => r.IsBody).Select(r => r.Range).ToList();
        Assert.That(ranges, Has.Count.EqualTo(2));
        Assert.That(ranges[0], Is.Null);
        // The second GET continues from what arrived: at most the bytes sent before the drop, less what was in flight.
        Assert.That(ranges[1], Does.Match("^bytes=[0-9]+-$"));
        Assert.That(long.Parse(ranges[1]!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture), Is.InRange(size / 4, size * 2 / 5));
        Assert.That(hub.BytesSentFor(Weights), Is.LessThan(1.3 * size));
        Assert.That(logger.Warnings, Has.Some.Contains(Weights).And.Contains("interrupted"));
    }

    [Test]
    public async Task A_connection_dropped_in_a_git_file_served_by_the_hub_itself_resumes_too()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(FakeRepo.FromFixture(ShardedId, "tiny-mistral"));
        using var cache = new TempCache();
        var size = repo.Files["tokenizer.json"].Length;
        Assert.That(repo.IsLfs("tokenizer.json"), Is.False, "a 3.5 MB tokenizer.json is kept in git, served by the hub, named by its git blob hash");
        hub.DropConnection("tokenizer.json", atByte: size / 3, times: 2);

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(ShardedId, HubTestOptions.For(hub, cache));

        AssertSnapshot(snapshot, repo, ShardedFiles);
        Assert.That(hub.RequestsFor("tokenizer.json").Count(r => r.IsBody), Is.EqualTo(3));
        Assert.That(hub.BytesSentFor("tokenizer.json"), Is.LessThan(1.3 * size));
    }

    [Test]
    public async Task A_download_interrupted_in_an_earlier_run_is_continued_from_its_incomplete_file()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var content = repo.Files[Weights];
        Directory.CreateDirectory(cache.Blobs(EmbeddingId));
        File.WriteAllBytes(Path.Combine(cache.Blobs(EmbeddingId), repo.ETagOf(Weights) + ".incomplete"), content[..(content.Length / 2)]);
        var progress = new SynchronousProgress();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache), progress);

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.RequestsFor(Weights).Single(r => r.IsBody).Range, Is.EqualTo($"bytes={content.Length / 2}-"));
        Assert.That(hub.BytesSentFor(Weights), Is.EqualTo(content.Length - content.Length / 2));
        Assert.That(progress.Reports.First(r => r.FileName == Weights).BytesDownloaded, Is.EqualTo(content.Length / 2), "progress starts from the bytes already there");
    }

    [Test]
    public async Task A_server_that_ignores_the_range_gets_the_file_downloaded_from_the_start()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        hub.IgnoreRange = true;
        using var cache = new TempCache();
        var content = repo.Files[Weights];
        Directory.CreateDirectory(cache.Blobs(EmbeddingId));
        File.WriteAllBytes(Path.Combine(cache.Blobs(EmbeddingId), repo.ETagOf(Weights) + ".incomplete"), content[..(content.Length / 2)]);

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.RequestsFor(Weights).Single(r => r.IsBody).Range, Is.Not.Null, "the range was asked for");
        Assert.That(hub.BytesSentFor(Weights), Is.EqualTo(content.Length), "and the whole file, sent instead, was taken from its start");
    }

    [Test]
    public async Task A_cancelled_download_keeps_its_bytes_for_the_next_call()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        using var cancellation = new CancellationTokenSource();
        var progress = new SynchronousProgress(p =>
        {
            if (p.FileName == Weights && p.BytesDownloaded > 0 && !p.IsComplete)
                cancellation.Cancel();
        });

        Assert.That(async () => await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache), progress, cancellation.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Directory.Exists(Path.Combine(cache.ModelFolder(EmbeddingId), "snapshots", repo.Commit, Weights)), Is.False);
        Assert.That(File.Exists(Path.Combine(cache.ModelFolder(EmbeddingId), "snapshots", repo.Commit, Weights)), Is.False, "no partial file in the snapshot");
        var kept = new FileInfo(Path.Combine(cache.Blobs(EmbeddingId), repo.ETagOf(Weights) + ".incomplete")).Length;
        Assert.That(kept, Is.GreaterThan(0));

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.RequestsFor(Weights).Last(r => r.IsBody).Range, Is.EqualTo($"bytes={kept}-"));
    }

    [Test]
    public async Task Server_errors_are_retried_then_the_download_succeeds()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        hub.FailWith(500, 1, r => r.Kind == "api");
        hub.FailWith(503, 1, r => r.Method == "HEAD" && r.FileName == "config.json");
        hub.FailWith(502, 1, r => r.IsBody && r.FileName == Weights);
        var logger = new CapturingLogger();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger));

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.Requests.Count(r => r.Kind == "api"), Is.EqualTo(2));
        Assert.That(logger.Warnings.Count(), Is.EqualTo(3), string.Join("\n", logger.Warnings));
        Assert.That(logger.Warnings, Has.Some.Contains("HTTP 500"));
    }

    [Test]
    public async Task Persistent_server_errors_give_up_after_the_bounded_retries_with_a_clear_error()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        hub.FailWith(503, int.MaxValue, r => r.Kind == "api");

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache) with { MaxRetries = 3 }));

        Assert.That(hub.Requests.Count, Is.EqualTo(4), "one try and three retries");
        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.NetworkError));
        Assert.That(error.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(error.Message, Does.Contain(EmbeddingId).And.Contain("'main'").And.Contain("HTTP 503").And.Contain("HF_HUB_OFFLINE"));
    }

    [Test]
    public async Task A_gated_model_without_a_token_says_so_and_names_HF_TOKEN()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(new FakeRepo(EmbeddingId, EmbeddingRepo().Files) { Gated = true });
        hub.ValidToken = "hf_GrantedToken";
        using var cache = new TempCache();

        var withoutToken = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache)));
        var wrongToken = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, token: "hf_NotGranted")));
        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, token: hub.ValidToken));

        Assert.That(withoutToken!.Kind, Is.EqualTo(HubErrorKind.AccessDenied));
        Assert.That(withoutToken.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(withoutToken.Message, Does.Contain("gated").And.Contain("HF_TOKEN").And.Contain(EmbeddingId).And.Contain("No token was sent"));
        Assert.That(withoutToken.FileName, Is.AnyOf(EmbeddingFiles), "the first file refused (they are fetched in parallel)");
        Assert.That(wrongToken!.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(wrongToken.Message, Does.Contain("gated").And.Contain("HF_TOKEN").And.Contain("no access"));
        AssertSnapshot(snapshot, repo, EmbeddingFiles);
    }

    [Test]
    public async Task A_private_model_without_a_token_is_not_found_and_the_error_names_HF_TOKEN()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.Add(new FakeRepo(EmbeddingId, EmbeddingRepo().Files) { Private = true });
        using var cache = new TempCache();

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache)));

        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.RepositoryNotFound));
        Assert.That(error.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(error.Message, Does.Contain("private or gated").And.Contain("HF_TOKEN"));
    }

    [Test]
    public async Task Each_kind_of_404_is_told_apart()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        repo.ListedButMissing.Add("tokenizer.model"); // listed, but gone when fetched
        using var cache = new TempCache();
        var options = HubTestOptions.For(hub, cache);

        var noRepo = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync("tiny-org/no-such-model", options));
        var noRevision = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options with { Revision = "v9" }));
        var noFile = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options));

        Assert.That(noRepo!.Kind, Is.EqualTo(HubErrorKind.RepositoryNotFound));
        Assert.That(noRepo.Message, Does.Contain("tiny-org/no-such-model").And.Contain("RepoNotFound"));
        Assert.That(noRevision!.Kind, Is.EqualTo(HubErrorKind.RevisionNotFound));
        Assert.That(noRevision.Message, Does.Contain("'v9'").And.Contain(EmbeddingId));
        Assert.That(noFile!.Kind, Is.EqualTo(HubErrorKind.FileNotFound));
        Assert.That(noFile.FileName, Is.EqualTo("tokenizer.model"));
        Assert.That(noFile.Message, Does.Contain("tokenizer.model").And.Contain(EmbeddingId).And.Contain("'main'"));
        Assert.That(new[] { noRepo.StatusCode, noRevision.StatusCode, noFile.StatusCode }, Is.All.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_repository_without_safetensors_is_a_clear_error_and_nothing_is_downloaded()
    {
        await using var hub = await FakeHub.StartAsync();
        var files = EmbeddingRepo().Files;
        files.Remove(Weights);
        hub.Add(new FakeRepo(EmbeddingId, files));
        using var cache = new TempCache();

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache)));

        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.UnsupportedRepository));
        Assert.That(error.Message, Does.Contain("no safetensors").And.Contain("pytorch_model.bin").And.Contain(EmbeddingId));
        Assert.That(hub.Requests.Select(r => r.Kind), Is.EqualTo(new[] { "api" }));
    }

    [Test]
    public async Task Corrupted_bytes_fail_the_checksum_delete_the_download_and_say_so()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        hub.Corrupt(Weights, times: 1);
        var options = HubTestOptions.For(hub, cache);

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options));

        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.ChecksumMismatch));
        Assert.That(error.FileName, Is.EqualTo(Weights));
        Assert.That(error.Message, Does.Contain("sha256").And.Contain(repo.ETagOf(Weights)).And.Contain("deleted").And.Contain(EmbeddingId));
        Assert.That(Directory.GetFiles(cache.Blobs(EmbeddingId), repo.ETagOf(Weights) + "*"), Is.Empty, "neither the blob nor its .incomplete remains");
        Assert.That(File.Exists(Path.Combine(cache.ModelFolder(EmbeddingId), "snapshots", repo.Commit, Weights)), Is.False);
        Assert.That(File.Exists(Path.Combine(cache.ModelFolder(EmbeddingId), "refs", "main")), Is.False, "refs/ names only complete snapshots");

        AssertSnapshot(await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options), repo, EmbeddingFiles);
    }

    [Test]
    public async Task A_corrupted_git_file_fails_its_git_blob_hash()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        hub.Corrupt("modules.json");

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache)));

        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.ChecksumMismatch));
        Assert.That(error.Message, Does.Contain("modules.json").And.Contain("git blob hash"));
    }

    [Test]
    public async Task Offline_after_a_download_never_touches_the_network()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var downloaded = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));
        var network = new UnreachableNetworkHandler();
        var environment = new Dictionary<string, string> { ["HF_HUB_OFFLINE"] = "1", ["HF_HUB_CACHE"] = cache.Root };

        var offline = HubOptions.FromEnvironment(name => environment.GetValueOrDefault(name)) with { HttpMessageHandler = network };
        var byBranch = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, offline);
        var byCommit = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, offline with { Revision = repo.Commit });

        Assert.That(offline.Offline, Is.True);
        Assert.That(byBranch, Is.EqualTo(downloaded));
        Assert.That(byCommit, Is.EqualTo(downloaded));
        Assert.That(network.Requests, Is.Zero);
    }

    [Test]
    public void Offline_without_the_model_in_the_cache_is_a_clear_error()
    {
        using var cache = new TempCache();
        var network = new UnreachableNetworkHandler();

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId,
            new HubOptions { CacheDirectory = cache.Root, Offline = true, HttpMessageHandler = network }));

        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.NotInCache));
        Assert.That(error.Message, Does.Contain(EmbeddingId).And.Contain("'main'").And.Contain("HF_HUB_OFFLINE").And.Contain(cache.Root));
        Assert.That(network.Requests, Is.Zero);
    }

    [Test]
    public void Offline_with_an_incomplete_snapshot_names_the_missing_file()
    {
        using var cache = new TempCache();
        var repo = EmbeddingRepo();
        WriteHuggingFaceHubCache(cache, repo, EmbeddingFiles.Where(f => f != Weights));

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, new HubOptions { CacheDirectory = cache.Root, Offline = true }));

        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.NotInCache));
        Assert.That(error.FileName, Is.EqualTo(Weights));
        Assert.That(error.Message, Does.Contain("incomplete").And.Contain(Weights));
    }

    [Test]
    public async Task When_the_hub_is_unreachable_a_complete_cached_snapshot_is_used_with_a_warning()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var downloaded = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));
        var network = new UnreachableNetworkHandler();
        var logger = new CapturingLogger();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger) with { HttpMessageHandler = network });

        Assert.That(snapshot, Is.EqualTo(downloaded));
        Assert.That(network.Requests, Is.EqualTo(1), "with a complete snapshot at hand there is no retrying");
        Assert.That(logger.Warnings.Single(), Does.Contain("Could not reach").And.Contain(EmbeddingId).And.Contain("Connection refused").And.Contain("cache"));
    }

    [Test]
    public async Task A_refused_connection_on_a_real_socket_falls_back_to_the_cache()
    {
        using var cache = new TempCache();
        string endpoint, downloaded;
        await using (var hub = await FakeHub.StartAsync(onLoopbackSockets: true))
        {
            hub.Add(EmbeddingRepo());
            endpoint = hub.Endpoint.ToString();
            downloaded = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));
        }
        var logger = new CapturingLogger();

        // The hub is gone: its port now refuses connections.
        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, new HubOptions { Endpoint = endpoint, CacheDirectory = cache.Root, Logger = logger });

        Assert.That(snapshot, Is.EqualTo(downloaded));
        Assert.That(logger.Warnings.Single(), Does.Contain("Could not reach"));
    }

    [Test]
    public void When_the_hub_is_unreachable_and_nothing_is_cached_the_error_says_both()
    {
        using var cache = new TempCache();
        var network = new UnreachableNetworkHandler();
        var options = new HubOptions { CacheDirectory = cache.Root, HttpMessageHandler = network, MaxRetries = 2, RetryDelay = TimeSpan.Zero };

        var error = Assert.ThrowsAsync<HubException>(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options));

        Assert.That(network.Requests, Is.EqualTo(3));
        Assert.That(error!.Kind, Is.EqualTo(HubErrorKind.NetworkError));
        Assert.That(error.StatusCode, Is.Null);
        Assert.That(error.Message, Does.Contain("Could not reach https://huggingface.co").And.Contain(EmbeddingId).And.Contain("'main'")
            .And.Contain("Connection refused").And.Contain("holds no snapshot").And.Contain("HF_HUB_OFFLINE"));
    }

    [Test]
    public async Task A_network_failure_during_the_download_of_a_new_commit_falls_back_to_the_last_complete_one()
    {
        await using var hub = await FakeHub.StartAsync();
        var old = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var oldSnapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));
        // main moves to a new commit whose weights never arrive.
        var files = new Dictionary<string, byte[]>(old.Files) { [Weights] = [.. old.Files[Weights], 1, 2, 3] };
        hub.Add(new FakeRepo(EmbeddingId, files, commit: new string('e', 40)));
        hub.DropConnection(Weights, atByte: 1000, times: int.MaxValue);
        var logger = new CapturingLogger();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger) with { MaxRetries = 2 });

        Assert.That(snapshot, Is.EqualTo(oldSnapshot));
        Assert.That(File.ReadAllText(Path.Combine(cache.ModelFolder(EmbeddingId), "refs", "main")), Is.EqualTo(old.Commit));
        Assert.That(logger.Warnings, Has.Some.Contains("using the complete snapshot " + old.Commit));
    }

    [Test]
    public async Task The_token_never_appears_in_exceptions_or_logs()
    {
        const string Token = "hf_VerySecretTokenValue0123456789";
        await using var hub = await FakeHub.StartAsync();
        hub.EchoAuthorizationInErrors = true; // the worst server: it repeats the token in every error
        var logger = new CapturingLogger();
        var texts = new List<string>();

        async Task Collect(Func<Task> action)
        {
            try
            {
                await action();
            }
            catch (Exception e)
            {
                texts.Add(HubTestOptions.FullText(e));
            }
        }

        hub.Add(new FakeRepo("tiny-org/gated", EmbeddingRepo().Files) { Gated = true });
        hub.ValidToken = "hf_SomeoneElsesToken";
        using (var cache = new TempCache())
            await Collect(() => HuggingFaceHub.ResolveSnapshotAsync("tiny-org/gated", HubTestOptions.For(hub, cache, logger, Token)));
        using (var cache = new TempCache())
            await Collect(() => HuggingFaceHub.ResolveSnapshotAsync("tiny-org/missing", HubTestOptions.For(hub, cache, logger, Token)));

        hub.Add(EmbeddingRepo());
        hub.FailWith(500, int.MaxValue, r => r.Kind == "api" && r.Revision == "v2");
        hub.FailWith(403, 1, r => r.Method == "HEAD" && r.FileName == "tokenizer.json");
        using (var cache = new TempCache())
        {
            await Collect(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger, Token) with { Revision = "v2", MaxRetries = 2 }));
            await Collect(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger, Token)));
            hub.DropConnection(Weights, atByte: hub.Add(EmbeddingRepo()).Files[Weights].Length * 3 / 4); // retried, resumed...
            hub.Corrupt(Weights, times: 1); // ...and its first part was corrupt: checksum error
            await Collect(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger, Token)));
            await Collect(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger, Token) with { HttpMessageHandler = new UnreachableNetworkHandler() }));
        }
        using (var cache = new TempCache())
            texts.Add(HubTestOptions.For(hub, cache, logger, Token).ToString());

        Assert.That(texts, Has.Count.EqualTo(7), string.Join("\n---\n", texts));
        Assert.That(hub.Requests.Where(r => r.Kind != "cdn").Select(r => r.Authorization), Is.All.EqualTo("Bearer " + Token), "the token was sent, and echoed back");
        Assert.That(logger.Entries, Is.Not.Empty);
        Assert.That(texts, Has.None.Contains(Token));
        Assert.That(texts, Has.None.Contains(Token[3..20]));
        Assert.That(logger.AllText, Does.Not.Contain(Token[3..20]));
        Assert.That(texts[0], Does.Contain("***"), "the echoed token was masked, the rest of the Hub's message kept");
    }
}
