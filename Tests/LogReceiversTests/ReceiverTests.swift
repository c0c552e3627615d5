import Testing
@testable import LogReceivers
import ReceiverProtos
import GRPCCore
import GRPCNIOTransportHTTP2
