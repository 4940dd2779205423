using System.Net;
using LastTokenEmbeddings.AspNetCore.Serving;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using Microsoft.Extensions.Hosting;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>
/// Admission control, cancellation and shutdown, made deterministic with a model that holds calls until the test
/// lets them go: the test knows exactly which requests are inside the model when it sends the next ones.
/// </summary>
public class BackpressureTests
{
    [Test]
    public async Task Past_the_concurrency_limit_requests_get_429_at_once_with_retry_after()
    {
        using var model = new GatedModel();
        await using var server = await ServerHost.StartAsync(model, o => { o.MaxConcurrentRequests = 3; o.RetryAfterSeconds = 2; });
        var admitted = Enumerable.Range(0, 3).Select(i => server.PostJsonAsync("/embed", new { inputs = $"held {i}", normalize = false })).ToArray();
        await model.WaitForCallsAsync(3);

        // The model is still holding all three: every further request is refused without waiting for it.
        var flood = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => i % 2 == 0
            ? server.PostJsonAsync("/embed", new { inputs = $"flood {i}", normalize = false })
            : server.PostJsonAsync("/v1/embeddings", new { input = $"flood {i}" })));
        for (var i = 0; i < flood.Length; i++)
        {
            Assert.That(flood[i].Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(2)), $"flood {i}");
            if (i % 2 == 0)
            {
                await flood[i].TeiErrorAsync(HttpStatusCode.TooManyRequests, "Overloaded");
            }
            else
            {
                var error = await flood[i].OpenAIErrorAsync(HttpStatusCode.TooManyRequests, type: "requests");
                Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("rate_limit_exceeded"));
            }
        }
        Assert.That(model.MaxConcurrentCalls, Is.EqualTo(3), "refused requests never reached the model");

        model.Open();
        var results = await Task.WhenAll(admitted);
        for (var i = 0; i < results.Length; i++)
        {
            var json = await results[i].JsonAsync(HttpStatusCode.OK);
            Assert.That(json[0].Floats(), Is.EqualTo(GatedModel.VectorOf($"held {i}")), "each request its own vector");
        }
        await Eventually.HoldsAsync(() => server.Service<AdmissionGate>().Admitted == 0, "leases returned");
        await (await server.PostJsonAsync("/embed", new { inputs = "after", normalize = false })).JsonAsync(HttpStatusCode.OK);
    }

    [Test]
    public async Task A_client_that_disconnects_has_its_queued_work_dropped()
    {
        using var model = new GatedModel();
        // A real socket: closing it is what tells the server the client is gone.
        await using var server = await ServerHost.StartAsync(model, o => o.MaxConcurrentRequests = 1, kestrel: true);
        using var disconnect = new CancellationTokenSource();
        var abandoned = server.PostJsonAsync("/v1/embeddings", new { input = "abandoned" }, disconnect.Token);
        await model.WaitForCallsAsync();

        await disconnect.CancelAsync();
        Assert.That(async () => await abandoned, Throws.InstanceOf<OperationCanceledException>());
        await model.WaitForCancellationAsync(); // the model saw the request's token fire: its texts leave the queue
        await Eventually.HoldsAsync(() => server.Service<AdmissionGate>().Admitted == 0, "the abandoned request's place freed");

        model.Open();
        var json = await (await server.PostJsonAsync("/v1/embeddings", new { input = "next" })).JsonAsync(HttpStatusCode.OK);
        Assert.That(json.GetProperty("data")[0].GetProperty("embedding").Floats(), Is.EqualTo(GatedModel.VectorOf("next")));
    }

    [Test]
    public async Task Without_cross_request_batching_requests_wait_their_turn_one_at_a_time()
    {
        using var model = new GatedModel();
        await using var server = await ServerHost.StartAsync(model, o => o.CrossRequestBatching = false);
        var first = server.PostJsonAsync("/embed", new { inputs = "first", normalize = false });
        await model.WaitForCallsAsync();
        var second = server.PostJsonAsync("/embed", new { inputs = "second", normalize = false });
        await Eventually.HoldsAsync(() => server.Service<AdmissionGate>().Admitted == 2, "the second request admitted");

        Assert.That(model.ActiveCalls, Is.EqualTo(1), "the second request waits outside the model");
        model.Open();
        await (await first).JsonAsync(HttpStatusCode.OK);
        Assert.That((await (await second).JsonAsync(HttpStatusCode.OK))[0].Floats(), Is.EqualTo(GatedModel.VectorOf("second")));
        Assert.That(model.MaxConcurrentCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task Graceful_shutdown_finishes_accepted_requests()
    {
        using var model = new GatedModel();
        await using var server = await ServerHost.StartAsync(model, kestrel: true);
        var accepted = server.PostJsonAsync("/v1/embeddings", new { input = "accepted" });
        await model.WaitForCallsAsync();

        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Service<IHostApplicationLifetime>().ApplicationStopping.Register(stopping.SetResult);
        var stop = server.App.StopAsync();
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));

        model.Open(); // only now can the accepted request finish: the host is already shutting down
        var json = await (await accepted).JsonAsync(HttpStatusCode.OK);
        Assert.That(json.GetProperty("data")[0].GetProperty("embedding").Floats(), Is.EqualTo(GatedModel.VectorOf("accepted")));
        await stop.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task Sixty_four_concurrent_requests_all_get_their_own_vectors()
    {
        await using var server = await ServerHost.StartAsync(Fixtures.TinyModel, o => o.MaxConcurrentRequests = 64);
        var texts = Enumerable.Range(0, 64).Select(i => $"request {i}: " + Fixtures.Texts[i % Fixtures.Texts.Length]).ToArray();
        var expected = await Fixtures.TinyModel.EmbedAsync(texts);

        var responses = await Task.WhenAll(texts.Select((text, i) => i % 2 == 0
            ? server.PostJsonAsync("/embed", new { inputs = text })
            : server.PostJsonAsync("/v1/embeddings", new { input = text })));
        for (var i = 0; i < texts.Length; i++)
        {
            var json = await responses[i].JsonAsync(HttpStatusCode.OK);
            var vector = i % 2 == 0 ? json[0].Floats() : json.GetProperty("data")[0].GetProperty("embedding").Floats();
            Vectors.AssertClose(vector, expected[i].Vector, $"request {i}");
        }
    }
}
