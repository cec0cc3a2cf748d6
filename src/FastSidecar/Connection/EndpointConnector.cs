using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastSidecar.Loop;

namespace FastSidecar.Connection;

/// <summary>
/// Resolves a host and connects to it, Happy Eyeballs style (RFC 8305): every address is tried, families interleaved
/// (<see cref="EndpointOrder"/>), the next attempt starts as soon as one fails, and one that has not answered within the
/// connection attempt delay gets a second attempt raced beside it. The first to connect wins; the others are closed.
/// </summary>
/// <remarks>
/// <para>
/// Thread affinity: loop thread, except the resolver's completion, which only posts back to the loop. Resolution never
/// blocks the loop: names the resolver is not needed for are answered inline (<see cref="HostLookup.TryAnswerLocally"/>,
/// IP literals never touch the thread pool), others go to the asynchronous resolver with a cancellation token that
/// <see cref="Dispose"/> cancels.
/// </para>
/// <para>
/// Deadline: the connector has none of its own. Its owner (the session) arms the connect timeout before calling
/// <see cref="Start"/>, so resolution and every attempt count against it; at the deadline the owner takes
/// <see cref="TimedOut"/> as its error and disposes the connector, which closes every attempt still pending.
/// </para>
/// </remarks>
internal sealed class EndpointConnector : IDisposable
{
    /// <summary>RFC 8305 §5's recommended connection attempt delay.</summary>
    internal static readonly TimeSpan AttemptDelay = TimeSpan.FromMilliseconds(250);

    private static readonly Action<object?> s_onAttemptDelay = static state => ((EndpointConnector)state!).OnAttemptDelay();
    private static readonly Action<object?> s_onLookupDone = static state => ((EndpointConnector)state!).OnLookupDone();
    private static readonly Action<Task<IPAddress[]>, object?> s_postLookupDone = static (task, state) =>
    {
        // Observed here, on every path: a connector that ended first never reads the task, and a fault it never read
        // would otherwise surface later as an unobserved task exception.
        _ = task.Exception;
        ((EndpointConnector)state!)._loop.TryPost(new WorkItem(s_onLookupDone, state));
    };

    private readonly SidecarLoop _loop;
    private readonly string _host;
    private readonly int _port;
    private readonly IConnectOwner _owner;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _lookup;

    private CancellationTokenSource? _lookupCancellation;
    private Task<IPAddress[]>? _lookupTask;
    private IPAddress[]? _addresses;      // null until resolved
    private int _nextAddress;
    private readonly List<ConnectAttempt> _pending = new(2);
    private readonly List<(string EndPoint, string Outcome)> _outcomes = [];  // ("[::1]:1", "connection refused"), in the order attempts ended
    private SocketError _lastError = SocketError.Success;
    private LoopTimer _delayTimer;
    private bool _delayArmed;
    private bool _ended;                  // the owner was told, or the connector was disposed

    public EndpointConnector(SidecarLoop loop, string host, int port, IConnectOwner owner, Func<string, CancellationToken, Task<IPAddress[]>>? lookup)
    {
        _loop = loop;
        _host = host;
        _port = port;
        _owner = owner;
        _lookup = lookup ?? HostLookup.SystemResolver;
    }

    /// <summary>"host:port" as the errors name it; an IPv6 literal in brackets, as in a URI (Uri.IdnHost drops them).</summary>
    public string Target => _host.Contains(':')
        ? string.Create(CultureInfo.InvariantCulture, $"[{_host}]:{_port}")
        : string.Create(CultureInfo.InvariantCulture, $"{_host}:{_port}");

    /// <summary>Starts resolving, then connecting. Loop thread; the owner hears the outcome later, or already within this call.</summary>
    /// <param name="early">The first attempt, made on the connecting thread; null to start from the name.</param>
    public void Start(EarlyConnect? early = null)
    {
        if (early is not null)
        {
            // Resolved already, and the first address tried: go on from that attempt's outcome.
            _addresses = early.Addresses;
            _nextAddress = 1;
            ConnectAttempt attempt = early.TakeAttempt(_loop, this);
            if (!Follow(attempt, early.Started == SocketError.InProgress ? attempt.Watch() : early.Started))
            {
                StartNextAttempt();
            }

            return;
        }

        if (HostLookup.TryAnswerLocally(_host, out IPAddress[] addresses, out SocketError error))
        {
            if (error != SocketError.Success)
            {
                FailResolve(new SocketException((int)error));
                return;
            }

            OnResolved(addresses);
            return;
        }

        _lookupCancellation = new CancellationTokenSource();
        try
        {
            _lookupTask = _lookup(_host, _lookupCancellation.Token);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            FailResolve(e);
            return;
        }

        // The continuation runs wherever the resolver completes (a pool thread, or inline here when it already has)
        // and only posts to the loop; a loop that stopped meanwhile has aborted the session, and this with it.
        _lookupTask.ContinueWith(s_postLookupDone, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The error for a connect timeout: what was tried, what was still pending.</summary>
    public WebSocketConnectionException TimedOut(TimeSpan timeout)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"Connecting to {Target} timed out after {timeout.TotalMilliseconds:0} ms: ");
        if (_addresses is null)
        {
            text.Append(CultureInfo.InvariantCulture, $"resolving '{_host}' did not finish");
        }
        else
        {
            AppendOutcomes(text);
            foreach (ConnectAttempt attempt in _pending)
            {
                AppendSeparator(text).Append(Format(attempt.EndPoint)).Append(" no answer");
            }

            for (int i = _nextAddress; i < _addresses.Length; i++)
            {
                AppendSeparator(text).Append(Format(new IPEndPoint(_addresses[i], _port))).Append(" not tried");
            }
        }

        return new WebSocketConnectionException(text.Append('.').ToString(), new SocketException((int)SocketError.TimedOut));
    }

    /// <summary>Ends the connector: cancels the lookup and the attempt delay, closes every attempt still pending. Idempotent.</summary>
    public void Dispose()
    {
        _ended = true;
        CancelAttemptDelay();
        foreach (ConnectAttempt attempt in _pending)
        {
            attempt.Dispose();
        }

        _pending.Clear();
        if (_lookupCancellation is not null)
        {
            // Cancel may complete the lookup inline; its continuation then posts to a connector that has ended, harmlessly.
            _lookupCancellation.Cancel();
            _lookupCancellation.Dispose();
            _lookupCancellation = null;
        }
    }

    /// <summary>An attempt's socket became writable or failed (its registration is already gone).</summary>
    internal void OnAttemptFinished(ConnectAttempt attempt, SocketError error)
    {
        if (_ended || !_pending.Remove(attempt))
        {
            attempt.Dispose();
            return;
        }

        if (error == SocketError.Success)
        {
            Succeed(attempt);
            return;
        }

        Record(attempt, error);
        // RFC 8305 §5: a failure starts the next attempt at once, without waiting out the delay.
        CancelAttemptDelay();
        StartNextAttempt();
    }

    private void OnLookupDone()
    {
        Task<IPAddress[]>? task = _lookupTask;
        if (_ended || task is null)
        {
            return;
        }

        _lookupTask = null;
        _lookupCancellation?.Dispose();
        _lookupCancellation = null;
        if (task.IsCompletedSuccessfully)
        {
            OnResolved(task.Result);
            return;
        }

        FailResolve(task.Exception?.InnerException ?? new OperationCanceledException());
    }

    private void OnResolved(IPAddress[] resolved)
    {
        _addresses = EndpointOrder.Interleave(resolved);
        if (_addresses.Length == 0)
        {
            End(new WebSocketConnectionException($"Connecting to {Target} failed: '{_host}' resolved to no usable address."));
            return;
        }

        StartNextAttempt();
    }

    /// <summary>Starts attempts until one is pending or connected; fails when none is left and none is pending.</summary>
    private void StartNextAttempt()
    {
        while (_addresses is not null && _nextAddress < _addresses.Length)
        {
            var attempt = new ConnectAttempt(_loop, this, new IPEndPoint(_addresses[_nextAddress++], _port));
            if (Follow(attempt, attempt.Start()))
            {
                return;
            }
        }

        if (_pending.Count == 0)
        {
            var text = new StringBuilder("Connecting to ").Append(Target).Append(" failed: ");
            AppendOutcomes(text);
            End(new WebSocketConnectionException(text.Append('.').ToString(), new SocketException((int)_lastError)));
        }
    }

    /// <summary>Takes a started attempt's outcome: true when it connected (the owner has heard) or is pending; false when it failed (recorded).</summary>
    private bool Follow(ConnectAttempt attempt, SocketError started)
    {
        if (started == SocketError.Success)
        {
            Succeed(attempt);
            return true;
        }

        if (started == SocketError.InProgress)
        {
            _pending.Add(attempt);
            if (_nextAddress < _addresses!.Length)
            {
                ArmAttemptDelay();
            }

            return true;
        }

        Record(attempt, started);
        return false;
    }

    private void Succeed(ConnectAttempt winner)
    {
        Socket socket = winner.Detach();
        _ended = true;
        Dispose(); // the losers
        _owner.OnEndpointConnected(socket);
    }

    private void FailResolve(Exception cause)
    {
        string why = cause is SocketException socketError ? Describe(socketError.SocketErrorCode) : cause.Message;
        End(new WebSocketConnectionException($"Connecting to {Target} failed: could not resolve '{_host}': {why}.", cause));
    }

    private void End(WebSocketConnectionException error)
    {
        _ended = true;
        Dispose();
        _owner.OnEndpointFailed(error);
    }

    private void Record(ConnectAttempt attempt, SocketError error)
    {
        _outcomes.Add((Format(attempt.EndPoint), Describe(error)));
        _lastError = error;
        attempt.Dispose();
    }

    private void ArmAttemptDelay()
    {
        CancelAttemptDelay();
        _delayTimer = _loop.ScheduleTimer(AttemptDelay, s_onAttemptDelay, this);
        _delayArmed = true;
    }

    private void CancelAttemptDelay()
    {
        if (_delayArmed)
        {
            _loop.CancelTimer(_delayTimer);
            _delayArmed = false;
        }
    }

    private void OnAttemptDelay()
    {
        _delayArmed = false;
        if (!_ended)
        {
            StartNextAttempt(); // the pending attempt goes on; the next one races it
        }
    }

    private void AppendOutcomes(StringBuilder text)
    {
        foreach ((string endPoint, string outcome) in _outcomes)
        {
            // An IP literal has one address, which the target already names: "127.0.0.1:1 failed: connection refused".
            if (_outcomes.Count > 1 || endPoint != Target)
            {
                AppendSeparator(text).Append(endPoint).Append(' ');
            }

            text.Append(outcome);
        }
    }

    private static StringBuilder AppendSeparator(StringBuilder text) => text[^1] == ' ' && text[^2] == ':' ? text : text.Append("; ");

    private static string Format(IPEndPoint endPoint) => endPoint.ToString();

    /// <summary>"ConnectionRefused" → "connection refused": the error as a sentence fragment.</summary>
    private static string Describe(SocketError error)
    {
        string name = error.ToString();
        var text = new StringBuilder(name.Length + 4);
        foreach (char c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }
}
