using LastTokenEmbeddings.Hub;

namespace LastTokenEmbeddings.Tests.Hub;

/// <summary>Resolving ids against a fake hub: which files, in which layout, with which requests.</summary>
public class HubResolutionTests
{
    internal const string EmbeddingId = "tiny-org/tiny-qwen3-embedding";
    internal const string ShardedId = "tiny-org/tiny-mistral";

    internal static readonly string[] EmbeddingFiles =
    [
        "1_Pooling/config.json", "config.json", "config_sentence_transformers.json", "generation_config.json", "model.safetensors",
        "modules.json", "sentence_bert_config.json", "tokenizer.json", "tokenizer_config.json",
    ];

    internal static readonly string[] ShardedFiles =
    [
        "config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
    ];

    /// <summary>Files a real repository lists that an embedding model does not need.</summary>
    internal static FakeRepo EmbeddingRepo() => FakeRepo.FromFixture(EmbeddingId, "tiny-qwen3-embedding",
        ("pytorch_model.bin", new byte[4096]),
        ("onnx/model.onnx", new byte[2048]),
        ("openvino/openvino_model.bin", new byte[1024]),
        ("README.md", "# tiny"u8.ToArray()),
        (".gitattributes", "*.safetensors filter=lfs"u8.ToArray()));

    [Test]
    public async Task Downloads_exactly_the_needed_files_byte_identical_in_the_huggingface_hub_layout()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));

        Assert.That(snapshot, Is.EqualTo(Path.Combine(cache.ModelFolder(EmbeddingId), "snapshots", repo.Commit)));
        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(File.ReadAllText(Path.Combine(cache.ModelFolder(EmbeddingId), "refs", "main")), Is.EqualTo(repo.Commit), "refs/main holds the commit, no newline");
        var notNeeded = new[] { "pytorch_model.bin", "onnx/model.onnx", "openvino/openvino_model.bin", "README.md", ".gitattributes", "2_Normalize/config.json" };
        Assert.That(hub.Requests.Where(r => notNeeded.Contains(r.FileName)), Is.Empty, "files the model does not need are never requested");
        Assert.That(Directory.GetFiles(cache.Blobs(EmbeddingId)).Select(Path.GetFileName), Is.EquivalentTo(EmbeddingFiles.Select(repo.ETagOf)), "one blob per file, no .incomplete left");
        foreach (var file in EmbeddingFiles)
            Assert.That(File.Exists(Path.Combine(cache.Root, ".locks", "models--tiny-org--tiny-qwen3-embedding", repo.ETagOf(file) + ".lock")), file + " was downloaded under huggingface_hub's lock file");
        Assert.That(File.Exists(Path.Combine(cache.ModelFolder(EmbeddingId), ".no_exist", repo.Commit, "tokenizer.model")), "a known-missing optional file is recorded as transformers records it");
        Assert.That(File.ReadAllText(Path.Combine(cache.Root, "CACHEDIR.TAG")), Does.StartWith("Signature: 8a477f597d28d172789f06886806bc55"));
    }

    [Test]
    public async Task Sharded_weights_are_the_index_and_exactly_the_shards_it_names()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(FakeRepo.FromFixture(ShardedId, "tiny-mistral", ("model-00003-of-00003.safetensors", new byte[100]), ("consolidated.safetensors", new byte[100])));
        using var cache = new TempCache();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(ShardedId, HubTestOptions.For(hub, cache));

        AssertSnapshot(snapshot, repo, ShardedFiles);
        Assert.That(hub.Requests.Where(r => r.FileName is "model-00003-of-00003.safetensors" or "consolidated.safetensors" or "reference.safetensors" or "reference.json"), Is.Empty);
    }

    [Test]
    public async Task Metadata_comes_from_a_HEAD_then_large_files_are_fetched_from_the_CDN_without_the_token()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        const string Token = "hf_TestTokenThatOnlyTheHubMaySee";

        await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, token: Token));

        var weights = hub.RequestsFor("model.safetensors").ToList();
        Assert.That(weights.Select(r => (r.Method, r.Kind)), Is.EqualTo(new[] { ("HEAD", "resolve"), ("GET", "cdn") }), "HEAD for metadata, then GET from the redirect's Location");
        Assert.That(weights[1].Query, Does.Contain("X-Amz-Signature"), "the signed CDN URL is used as given");
        Assert.That(hub.Requests.Where(r => r.Kind == "cdn").Select(r => r.Authorization), Is.All.Null, "the token never goes to another host");
        Assert.That(hub.Requests.Where(r => r.Kind != "cdn").Select(r => r.Authorization), Is.All.EqualTo("Bearer " + Token));
        Assert.That(hub.Requests.Where(r => r.Kind == "resolve").Select(r => r.Revision), Is.All.Matches<string>(HubCacheCommit), "files are resolved at the commit, so a branch moving meanwhile cannot mix snapshots");
    }

    private static bool HubCacheCommit(string revision) => revision.Length == 40 && revision.All(Uri.IsHexDigit);

    [Test]
    public async Task A_renamed_repository_is_followed_through_the_hubs_relative_redirects()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        hub.Renamed["old-org/old-name"] = EmbeddingId;
        using var cache = new TempCache();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync("old-org/old-name", HubTestOptions.For(hub, cache));

        Assert.That(snapshot, Is.EqualTo(Path.Combine(cache.ModelFolder("old-org/old-name"), "snapshots", repo.Commit)), "cached under the id asked for, as huggingface_hub does");
        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.Requests.Where(r => r.RepoId == "old-org/old-name").Select(r => r.Kind), Is.Not.Empty.And.All.Not.EqualTo("cdn"));
    }

    [Test]
    public async Task A_second_resolution_uses_the_snapshot_and_asks_only_for_the_revision()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var options = HubTestOptions.For(hub, cache);
        var first = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options);
        var requestsBefore = hub.Requests.Count;

        var second = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options);

        Assert.That(second, Is.EqualTo(first));
        Assert.That(hub.Requests.Skip(requestsBefore).Select(r => r.Kind), Is.EqualTo(new[] { "api" }));
    }

    [Test]
    public async Task A_commit_hash_revision_with_a_complete_snapshot_needs_no_request()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));
        var requestsBefore = hub.Requests.Count;

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache) with { Revision = repo.Commit });

        Assert.That(snapshot, Does.EndWith(repo.Commit));
        Assert.That(hub.Requests.Count, Is.EqualTo(requestsBefore));
    }

    [Test]
    public async Task Progress_reports_each_download_up_to_its_verified_completion()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var progress = new SynchronousProgress();

        await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache), progress);

        var byFile = progress.Reports.GroupBy(r => r.FileName).ToDictionary(g => g.Key, g => g.ToList());
        Assert.That(byFile.Keys, Is.EquivalentTo(EmbeddingFiles));
        foreach (var (file, reports) in byFile)
        {
            Assert.That(reports.Select(r => r.BytesDownloaded), Is.Ordered, file);
            Assert.That(reports[^1], Is.EqualTo(new HubDownloadProgress(EmbeddingId, file, repo.Files[file].Length, repo.Files[file].Length, IsComplete: true)), file);
            Assert.That(reports.SkipLast(1).Select(r => r.IsComplete), Is.All.False, file);
        }
        Assert.That(byFile["model.safetensors"], Has.Count.GreaterThan(3), "a 12 MB file reports as it goes");
    }

    [Test]
    public async Task Real_sockets_redirect_to_another_origin_and_resume_a_dropped_connection()
    {
        await using var hub = await FakeHub.StartAsync(onLoopbackSockets: true);
        var repo = hub.Add(EmbeddingRepo());
        hub.ValidToken = "hf_SocketTestToken";
        using var cache = new TempCache();
        var size = repo.Files["model.safetensors"].Length;
        hub.DropConnection("model.safetensors", atByte: size / 2);
        var logger = new CapturingLogger();

        var snapshot = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache, logger, token: hub.ValidToken));

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.Endpoint.Authority, Is.Not.EqualTo(hub.CdnBase.Authority));
        Assert.That(hub.Requests.Where(r => r.Kind == "cdn").Select(r => r.Authorization), Is.All.Null);
        Assert.That(hub.RequestsFor("model.safetensors").Where(r => r.Kind == "cdn").Select(r => r.Range), Has.Some.Matches<string?>(r => r is not null && r.StartsWith("bytes=", StringComparison.Ordinal)));
        Assert.That(hub.BytesSentFor("model.safetensors"), Is.LessThan(1.3 * size));
        Assert.That(logger.Warnings, Has.Some.Contains("model.safetensors").And.Contains("resuming"));
    }

    [Test]
    public async Task Two_concurrent_resolutions_of_one_model_both_succeed_with_one_download_of_each_blob()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var options = HubTestOptions.For(hub, cache);

        var both = await Task.WhenAll(
            Task.Run(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options)),
            Task.Run(() => HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, options)));

        Assert.That(both[1], Is.EqualTo(both[0]));
        AssertSnapshot(both[0], repo, EmbeddingFiles);
        foreach (var file in EmbeddingFiles)
            Assert.That(hub.BodyRequestsFor(file), Is.EqualTo(1), file + " was downloaded once");
        Assert.That(Directory.GetFiles(cache.Blobs(EmbeddingId)), Has.Length.EqualTo(EmbeddingFiles.Length));
    }

    [Test]
    public async Task A_blob_locked_by_another_process_is_waited_for_and_then_taken_from_the_cache()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var etag = repo.ETagOf("model.safetensors");
        var lockPath = Path.Combine(cache.Root, ".locks", "models--tiny-org--tiny-qwen3-embedding", etag + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);

        Task<string> resolving;
        // Another downloader (here: an open lock file, as Python's filelock holds it) has the blob's lock.
        using (new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            resolving = HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));
            await hub.WaitForRequestAsync(r => r.Method == "HEAD" && r.FileName == "model.safetensors");
            // It finishes the blob while we wait on its lock...
            Directory.CreateDirectory(cache.Blobs(EmbeddingId));
            File.WriteAllBytes(Path.Combine(cache.Blobs(EmbeddingId), etag), repo.Files["model.safetensors"]);
        }
        var snapshot = await resolving;

        AssertSnapshot(snapshot, repo, EmbeddingFiles);
        Assert.That(hub.BodyRequestsFor("model.safetensors"), Is.Zero, "the blob the lock holder wrote is used, not downloaded again");
    }

    [Test]
    public async Task A_cache_written_by_huggingface_hub_is_read_as_is()
    {
        await using var hub = await FakeHub.StartAsync();
        var repo = hub.Add(EmbeddingRepo());
        using var cache = new TempCache();
        var snapshot = WriteHuggingFaceHubCache(cache, repo, EmbeddingFiles);

        var offline = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, new HubOptions { CacheDirectory = cache.Root, Offline = true });
        var online = await HuggingFaceHub.ResolveSnapshotAsync(EmbeddingId, HubTestOptions.For(hub, cache));

        Assert.That(offline, Is.EqualTo(snapshot));
        Assert.That(online, Is.EqualTo(snapshot));
        Assert.That(hub.Requests.Select(r => r.Kind), Is.EqualTo(new[] { "api" }), "every file is in the snapshot: only the revision is asked for");
        AssertSnapshot(snapshot, repo, EmbeddingFiles);
    }

    /// <summary>The cache exactly as huggingface_hub writes it: refs/main, blobs/ETAG, relative symlinks in snapshots/COMMIT.</summary>
    internal static string WriteHuggingFaceHubCache(TempCache cache, FakeRepo repo, IEnumerable<string> files)
    {
        var folder = cache.ModelFolder(repo.Id);
        Directory.CreateDirectory(Path.Combine(folder, "refs"));
        File.WriteAllText(Path.Combine(folder, "refs", "main"), repo.Commit);
        Directory.CreateDirectory(Path.Combine(folder, "blobs"));
        var snapshot = Path.Combine(folder, "snapshots", repo.Commit);
        foreach (var file in files)
        {
            var etag = repo.ETagOf(file);
            File.WriteAllBytes(Path.Combine(folder, "blobs", etag), repo.Files[file]);
            var pointer = Path.Combine(snapshot, file);
            Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
            var depth = file.Count(c => c == '/');
            File.CreateSymbolicLink(pointer, string.Concat(Enumerable.Repeat("../", depth + 2)) + "blobs/" + etag);
        }
        return snapshot;
    }

    /// <summary>The snapshot holds exactly <paramref name="files"/>, each a relative symlink to its blob, byte-identical to the repository's.</summary>
    internal static void AssertSnapshot(string snapshot, FakeRepo repo, IEnumerable<string> files)
    {
        var expected = files.ToList();
        var actual = Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(snapshot, f).Replace(Path.DirectorySeparatorChar, '/')).ToList();
        Assert.That(actual, Is.EquivalentTo(expected));
        foreach (var file in expected)
        {
            var pointer = new FileInfo(Path.Combine(snapshot, file));
            if (!OperatingSystem.IsWindows())
            {
                var depth = file.Count(c => c == '/');
                Assert.That(pointer.LinkTarget, Is.EqualTo(string.Concat(Enumerable.Repeat("../", depth + 2)) + "blobs/" + repo.ETagOf(file)), file);
            }
            // SequenceEqual: NUnit's element-wise comparison of 12 MB arrays takes seconds.
            Assert.That(File.ReadAllBytes(pointer.FullName).AsSpan().SequenceEqual(repo.Files[file]), Is.True, file + " is byte-identical to the fixture");
        }
    }
}
